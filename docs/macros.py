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


ADMONITION = {"confirmed": "success", "refuted": "failure", "inconclusive": "warning",
              "not testable": "info", "pending": "note"}
# The order in which a box shows the worst of several machines' verdicts: defined once.
from actbench.verdicts import VERDICT_ORDER  # noqa: E402


def _fmt(value) -> str:
    from actbench.verdicts import fmt  # one number format for ledger, boxes and tables

    if isinstance(value, list):
        return "–".join(_fmt(v) for v in value)
    return fmt(value)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|")


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
        """A "Claim check" admonition: the tutorial's value beside ours (estimate, 95 % interval,
        n) per machine, the verdict and the reason the rule gives for it."""
        rows = _claim_rows(claim_id)
        first = rows[0]
        worst = next((v for v in VERDICT_ORDER if any(r["verdict"] == v for r in rows)), "pending")
        lines = [f'!!! {ADMONITION[worst]} "Claim check: {first["claim"]}"',
                 f"    Tutorial (§{first['section']}): **{_fmt(first['claimed'])}**. "
                 f"Rule: {first['rule_text']}.", ""]
        if first["rule"]["kind"] == "not_testable":
            lines.append(f"    Not testable here: {first['reason']}")
        else:
            lines += ["    | machine | measured [95 % interval], n | verdict | why |", "    |---|---|---|---|"]
            for r in rows:
                measured = r["measured_text"] or ("–" if r["verdict"] == "not testable" else "not measured yet")
                lines.append(f"    | {r['hw_id'] or 'any (exact maths)'} | {_cell(measured)} | "
                             f"**{r['verdict']}**{' (a fortiori)' if r.get('a_fortiori') else ''} | {_cell(r['why'])} |")
                for a in r.get("also", []):
                    lines.append(f"    | {_cell(a['label'])} | {_cell(a['measured_text'] or '–')} | {a['verdict']} | "
                                 f"{_cell(a['why'])} |")
        lines.append(f"\n    <small>Ledger id `{claim_id}`, study `{first['study']}`, metric `{first['metric']}`.</small>")
        return "\n".join(lines) + "\n"

    def _ledger_url() -> str:
        # Raw HTML links are not rewritten by MkDocs: point at the built ledger page's URL.
        import posixpath

        directory_urls = env.conf.get("use_directory_urls", True)
        url = env.page.url if env.page else ""
        page_dir = url.rstrip("/") if directory_urls else posixpath.dirname(url)
        ledger = posixpath.relpath("ledger/" if directory_urls else "ledger.html", page_dir or ".")
        return ledger + ("/" if directory_urls else "")

    def _claim_rows(claim_id: str) -> list[dict]:
        rows = by_id.get(claim_id)
        if rows is None:
            raise KeyError(f"claim {claim_id!r} is not in the ledger (src/actbench/claims.yaml)")
        return rows

    def _verdicts(claim_id: str, rows: list[dict], ledger: str) -> list[tuple[str, str]]:
        """(ours, badge) per machine: the measurement with its interval (and, in small
        print, what the ledger shows beside it: another definition or regime), and a
        verdict badge linking to the ledger row, the rule's reason on hover."""
        import html

        several = len(rows) > 1
        out = []
        for r in rows:
            measured = r["measured_text"] or ("–" if r["verdict"] == "not testable" else "not measured yet")
            where = f"{r['hw_id']}: " if several and r["hw_id"] else ""
            ours = html.escape(where + measured, quote=False)
            # a definition or regime the ledger shows beside the decided one (kernels: memory-bound)
            ours += "".join(f'<br><small>{html.escape(a["label"])}: {html.escape(a["measured_text"] or "–")} '
                            f'→ {html.escape(a["verdict"])}</small>' for a in r.get("also", []))
            badge = (f'<a class="ledger-verdict" data-verdict="{r["verdict"]}" '
                     f'href="{ledger}#claim-{claim_id}" title="{html.escape(r["why"], quote=True)}">'
                     f'{r["verdict"]}{" (a fortiori)" if r.get("a_fortiori") else ""}</a>')
            # an inconclusive row is only useful with what would decide it
            if r["verdict"] == "inconclusive":
                badge += f'<br><small>{html.escape(r["why"])}</small>'
            out.append((ours, badge))
        return out

    @env.macro
    def claims_table(*claim_ids: str, caption: str = "") -> str:
        """One comparison table for several claims (issue 15: tables, not runs of boxes):
        the claim, the tutorial's value, ours (estimate [95 % interval], n) per machine, and a
        verdict badge that links to the claim's ledger row and shows the reason on hover.
        `caption` names what the rows have in common when a section has several tables."""
        if not claim_ids:
            raise ValueError("claims_table() needs at least one claim id")
        ledger = _ledger_url()
        lines = [f"**{caption}**\n" if caption else "",
                 "| claim | tutorial | ours: estimate [95 % interval], n | verdict |", "|---|---|---|---|"]
        for claim_id in claim_ids:
            rows = _claim_rows(claim_id)
            first = rows[0]
            cells = _verdicts(claim_id, rows, ledger)
            ours = "<br>".join(o for o, _ in cells)
            badges = "<br>".join(b for _, b in cells)
            lines.append(f"| {_cell(first['claim'])} (§{first['section']}) | {_cell(_fmt(first['claimed']))} | "
                         f"{ours.replace('|', '&#124;')} | {badges.replace('|', '&#124;')} |")
        return ("\n".join(lines).lstrip("\n") +
                "\n\n<small>Hover over a verdict for the rule's reason; click it for the ledger row.</small>\n")

    @env.macro
    def badge(claim_id: str) -> str:
        """One claim checked inline, where the prose discusses a single claim: its text, the
        tutorial's value, ours and the verdict badge, as one short paragraph (no box)."""
        import html

        rows = _claim_rows(claim_id)
        first = rows[0]
        cells = "; ".join(f"{o} {b}" for o, b in _verdicts(claim_id, rows, _ledger_url()))
        return (f'<span class="claim-inline">Check (§{html.escape(first["section"])}): '
                f'<em>{html.escape(first["claim"])}</em>. Tutorial: <strong>{html.escape(_fmt(first["claimed"]))}'
                f'</strong>; ours: {cells}</span>')

    @env.macro
    def has(key: str) -> bool:
        """Whether the report produced a number (for a passage that only some runs can fill,
        e.g. the rerun comparison, which needs a committed second run)."""
        return key in numbers["numbers"]

    @env.macro
    def numci(key: str) -> str:
        """A measured number with its interval: 'estimate [low, high], n = k'."""
        try:
            entry = numbers["numbers"][key]
        except KeyError:
            raise KeyError(f"number {key!r} is not in docs/generated/numbers.json") from None
        return entry.get("interval_text", entry["text"])

    @env.macro
    def machines() -> list:
        return numbers["machines"]

    @env.macro
    def claim_counts() -> dict:
        return claims["counts"]

    @env.macro
    def provenance(*studies: str) -> str:
        """Which machine(s), run dates and commits a result page shows: the generated
        tables/provenance-<study>.md of each study, merged into one table in a note."""
        if not studies:
            raise ValueError("provenance() needs at least one study name")
        header, rows = None, []
        for study in studies:
            lines = table(f"provenance-{study}").strip().splitlines()
            if header is not None and lines[:2] != header:
                raise ValueError(f"provenance-{study}.md has other columns than provenance-{studies[0]}.md")
            header = lines[:2]
            rows += lines[2:]
        import posixpath

        body = "\n".join("    " + line for line in header + rows)
        here = posixpath.dirname(env.page.file.src_uri) if env.page else ""
        methodology = posixpath.relpath("methodology.md", here or ".")
        return ('!!! info "Where these results come from"\n'
                f"{body}\n\n"
                "    <small>Run: when the first and the last row were written (UTC). A commit ending in "
                "`-dirty` ran from a working tree with uncommitted changes. Hardware and library versions "
                f"of each machine: [methodology]({methodology}#machines).</small>\n")

    @env.macro
    def figure(name: str, alt: str, caption: str) -> str:
        """A generated figure with its caption, the machine and run it shows (from the
        parquet rows it was drawn from, the same columns provenance() reads) and a link to
        the CSV of exactly the plotted points (actbench.report.figure_block)."""
        import posixpath

        from actbench.report.figure_block import figure_block, figure_meta

        here = posixpath.dirname(env.page.file.src_uri) if env.page else ""
        folder = posixpath.relpath("generated/figures", here or ".")
        return figure_block(figure_meta(GENERATED / "figures", name), folder, alt, caption)

    @env.macro
    def bad_input_table() -> str:
        """The bad-input table, from src/actbench/bad_inputs.yaml (tests/test_bad_input.py runs every row)."""
        from actbench.bad_inputs import markdown_table

        return markdown_table()
