"""A book of named numbers for the docs: value, formatted text, uncertainty and provenance.

A number is one of
* a measurement (:class:`actbench.measurement.Measurement`): the page shows its estimate,
  the ledger judges its interval;
* an exact value (``exact=True``): a computation with no sampling error (maths, a count
  of what was configured), judged as a zero-width interval;
* a plain value (the default): shown on pages, never used to decide a claim, so that no
  random quantity is decided without its interval.
"""

from __future__ import annotations

import math

from actbench.measurement import Measurement
from actbench.verdicts import fmt_interval


def _text(value, fmt: str) -> str:
    if isinstance(value, (bool, str)):
        return str(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "−∞"
    text = format(value, fmt)
    if text.startswith("-"):
        text = "−" + text[1:]  # typographic minus in prose
    if isinstance(value, float) and value != 0 and float(text.replace("−", "-").replace(",", "") or 0) == 0:
        text = format(value, ".2g").replace("-", "−")  # never print 0 for a non-zero value
    return text


def json_safe(obj):
    """The same data with every non-finite float as a string ("inf", "-inf", "nan"): browsers'
    JSON.parse rejects the Infinity and NaN that Python's json writes."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


class NumberBook:
    def __init__(self, hw_filter: str | None = None):
        self._numbers: dict[str, dict] = {}
        self.hw_filter = hw_filter
        self.machines: list[str] = []

    def add(self, key: str, value, fmt: str = ".3g", source: str = "", hw: str | None = None,
            exact: bool = False) -> None:
        if key in self._numbers:
            raise ValueError(f"number {key!r} recorded twice")
        if isinstance(value, dict):
            raise TypeError(f"number {key!r}: record comparisons as a Measurement, not a dict")
        entry = {"source": source, "hw_id": hw}
        if isinstance(value, Measurement):
            entry.update(value=value.estimate if math.isfinite(value.estimate) else str(value.estimate),
                         text=_text(value.estimate, fmt), measurement=value.as_dict(),
                         interval_text=fmt_interval(value))
        else:
            if hasattr(value, "item"):  # numpy scalars
                value = value.item()
            entry.update(value=value if not isinstance(value, float) or math.isfinite(value) else str(value),
                         text=_text(value, fmt))
            if exact:
                entry["exact"] = True
        self._numbers[key] = entry

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
