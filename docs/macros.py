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


ADMONITION = {"confirmed": "success", "refuted": "failure", "inconclusive": "question",
              "not testable": "info", "pending": "note"}


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}".replace("-", "−")
    if isinstance(value, list):
        return "–".join(_fmt(v) for v in value)
    if isinstance(value, dict):  # statistical comparison
        return f"effect {_fmt(value.get('effect'))}, p = {_fmt(value.get('p'))}"
    return str(value)


def _rule_text(rule: dict) -> str:
    kind = rule["kind"]
    return {"abs_tol": f"|measured − claimed| ≤ {rule.get('tol')}",
            "rel_tol": f"within {rule.get('tol', 0) * 100:g}% of the claim",
            "in_range": "measured inside the claimed range",
            "at_least": "measured ≥ claimed", "at_most": "measured ≤ claimed",
            "direction": "significant difference in the claimed direction (test stated on the page)",
            "not_testable": "not testable here"}.get(kind, kind)


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

    by_id = {}
    for row in claims["claims"]:
        by_id.setdefault(row["id"], []).append(row)

    @env.macro
    def claim(claim_id: str) -> str:
        """A "Claim check" admonition: the tutorial's value beside ours, per machine, with the verdict."""
        rows = by_id.get(claim_id)
        if rows is None:
            raise KeyError(f"claim {claim_id!r} is not in the ledger (src/actbench/claims.yaml)")
        first = rows[0]
        worst = next((v for v in ("refuted", "inconclusive", "confirmed", "not testable", "pending")
                      if any(r["verdict"] == v for r in rows)), "pending")
        lines = [f'!!! {ADMONITION[worst]} "Claim check: {first["claim"]}"',
                 f"    Tutorial (§{first['section']}): **{_fmt(first['claimed'])}**. "
                 f"Rule: {_rule_text(first['rule'])}.", ""]
        if first["rule"]["kind"] == "not_testable":
            lines.append(f"    Not testable here: {first['reason']}")
        else:
            lines += ["    | machine | measured | verdict |", "    |---|---|---|"]
            for r in rows:
                measured = "not measured yet" if r["measured"] is None else _fmt(r["measured"])
                lines.append(f"    | {r['hw_id'] or 'any (exact maths)'} | {measured} | **{r['verdict']}** |")
        lines.append(f"\n    <small>Ledger id `{claim_id}`, study `{first['study']}`, metric `{first['metric']}`.</small>")
        return "\n".join(lines) + "\n"

    @env.macro
    def machines() -> list:
        return numbers["machines"]

    @env.macro
    def claim_counts() -> dict:
        return claims["counts"]

    @env.macro
    def bad_input_table() -> str:
        """The bad-input table, from src/actbench/bad_inputs.yaml (tests/test_bad_input.py runs every row)."""
        from actbench.bad_inputs import markdown_table

        return markdown_table()
