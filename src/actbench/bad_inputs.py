"""The bad-input table: one YAML file (bad_inputs.yaml) read by the test that checks every
row (tests/test_bad_input.py) and by the docs page that shows it (docs/bad-input.md,
through the `bad_input_table` macro), so the two cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

import yaml

CONTINUES = "…"  # a message ending in this goes on (a list of valid names)
FIELDS = {"id", "input", "run", "args", "config", "env", "setup", "before", "needs", "message"}
DOC_DIR = "/path/to/work"  # how the docs show the work folder ({dir})


@dataclass(frozen=True)
class BadInput:
    id: str
    input: str
    run: str
    message: str
    args: tuple[str, ...] = ()
    config: str = ""
    env: dict = field(default_factory=dict)
    setup: dict = field(default_factory=dict)
    before: tuple[tuple[str, ...], ...] = ()  # commands run first (they must succeed)
    needs: str | None = None

    @property
    def checked_message(self) -> str:
        """The part of the message the test asserts (all of it, or what precedes '…')."""
        return self.message[: -len(CONTINUES)] if self.message.endswith(CONTINUES) else self.message

    def command(self) -> str:
        """What the user typed, for the docs (commands run first lead, each ending in ';')."""
        prefix = " ".join(f"{k}={v!r}" if " " in str(v) else f"{k}={v}" for k, v in self.env.items())
        if self.run == "cli":
            text = "; ".join(_cli_text(args) for args in (*self.before, self.args))
        else:
            text = "snakemake -n with config: " + "; ".join(
                line.strip() for line in self.config.strip().splitlines())
        return (prefix + " " + text).strip().replace("{dir}", DOC_DIR)


def _cli_text(args) -> str:
    return "python -m actbench " + " ".join(a if a and " " not in a and "'" not in a else repr(a) for a in args)


def load() -> list[BadInput]:
    rows = yaml.safe_load(resources.files("actbench").joinpath("bad_inputs.yaml").read_text())
    out, seen = [], set()
    for row in rows:
        unknown = set(row) - FIELDS
        if unknown:
            raise ValueError(f"bad_inputs.yaml row {row.get('id')!r}: unknown field(s) {sorted(unknown)}")
        if row["id"] in seen:
            raise ValueError(f"bad_inputs.yaml: id {row['id']!r} appears twice")
        if row["run"] not in ("cli", "config"):
            raise ValueError(f"bad_inputs.yaml row {row['id']!r}: run must be 'cli' or 'config', got {row['run']!r}")
        seen.add(row["id"])
        out.append(BadInput(**{**row, "args": tuple(str(a) for a in row.get("args", ())),
                               "before": tuple(tuple(str(a) for a in cmd) for cmd in row.get("before", ()))}))
    return out


def _cell(text: str) -> str:
    """Inline code for a Markdown table cell ('|' escaped; a backtick-safe fence)."""
    text = text.replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def markdown_table() -> str:
    lines = ["| # | Bad input | What was run | What you see | Written |", "|---|---|---|---|---|"]
    for i, row in enumerate(load(), 1):
        message = row.message.replace("{dir}", DOC_DIR)
        where = " (only without a GPU)" if row.needs == "no-cuda" else ""
        lines.append(f"| {i} | {row.input}{where} | {_cell(row.command())} | {_cell(message)} | nothing |")
    return "\n".join(lines) + "\n"
