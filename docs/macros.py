"""mkdocs-macros module: every measured number on the site comes through here.

Numbers are read from docs/generated/numbers.json (written by `actbench report` from
results/). An unknown key raises, and mkdocs.yml sets on_error_fail, so a page can
never show a number that the pipeline did not produce.
"""

import json
from pathlib import Path

GENERATED = Path(__file__).parent / "generated"


def _load(name):
    path = GENERATED / name
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: run `python -m actbench report` (or `make`) before building the docs"
        )
    return json.loads(path.read_text())


def define_env(env):
    numbers = _load("numbers.json")
    claims = _load("claims.json")

    @env.macro
    def num(key: str) -> str:
        """Formatted value of a generated number."""
        try:
            return numbers["numbers"][key]["text"]
        except KeyError:
            raise KeyError(f"number {key!r} is not in docs/generated/numbers.json") from None

    @env.macro
    def raw(key: str):
        """Unformatted value (for arithmetic or conditions in a page)."""
        try:
            return numbers["numbers"][key]["value"]
        except KeyError:
            raise KeyError(f"number {key!r} is not in docs/generated/numbers.json") from None

    @env.macro
    def table(name: str) -> str:
        """A generated Markdown table from docs/generated/tables/<name>.md."""
        path = GENERATED / "tables" / f"{name}.md"
        if not path.exists():
            raise FileNotFoundError(f"generated table {path} is missing; run `python -m actbench report`")
        return path.read_text()

    @env.macro
    def machines() -> list:
        return numbers["machines"]

    @env.macro
    def claim_counts() -> dict:
        return claims["counts"]
