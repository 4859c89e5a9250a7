"""A book of named numbers for the docs: value, formatted text and provenance."""

from __future__ import annotations

import math


class NumberBook:
    def __init__(self, hw_filter: str | None = None):
        self._numbers: dict[str, dict] = {}
        self.hw_filter = hw_filter
        self.machines: list[str] = []

    def add(self, key: str, value, fmt: str = ".3g", source: str = "", hw: str | None = None) -> None:
        if key in self._numbers:
            raise ValueError(f"number {key!r} recorded twice")
        if isinstance(value, (bool, str)):
            text = str(value)
        elif value is None or (isinstance(value, float) and math.isnan(value)):
            text = "n/a"
        elif isinstance(value, float) and math.isinf(value):
            text = "∞" if value > 0 else "−∞"
        elif isinstance(value, dict):  # statistical comparison {"effect", "p", "alpha"} (claims.verdict)
            p = value.get("p")
            text = f"{format(value['effect'], fmt)} (p = {'n/a' if p is None else format(p, '.2g')})".replace("-", "−")
        else:
            text = format(value, fmt)
            if text.startswith("-"):
                text = "−" + text[1:]  # typographic minus in prose
        self._numbers[key] = {"value": value if not isinstance(value, float) or math.isfinite(value) else str(value),
                              "text": text, "source": source, "hw_id": hw}

    def use_machine(self, hw: str) -> bool:
        """Whether this hardware id is reported (and remember it)."""
        if self.hw_filter is not None and hw != self.hw_filter:
            return False
        if hw not in self.machines:
            self.machines.append(hw)
        return True

    def get(self, key: str) -> dict | None:
        return self._numbers.get(key)

    def __len__(self) -> int:
        return len(self._numbers)

    def as_dict(self) -> dict:
        return {"machines": sorted(self.machines), "numbers": self._numbers}
