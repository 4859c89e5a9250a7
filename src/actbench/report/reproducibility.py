"""Do the timing studies reproduce? Numbers for the Methodology and Kernels pages.

A machine's folder may hold a second, later run of a timing study in
``results/<hw_id>/rerun/<study>.parquet`` (run by hand, alone, with the same settings:
``python -m actbench kernels --results /tmp/rerun ...`` then copy the file there). This
module compares it with the committed run exactly as ``python -m actbench rerun-check``
does and records, per quantity, how many same-run ratios moved by at most 10 % and the
median change, so that the pages state how far a single measurement can be trusted.

``rerun/kernel_cost.one-block.{first,second}.parquet`` are two runs of the earlier
one-block design of ``kernel_cost`` (15 rounds sharing one set of buffers); their
comparison (prefix ``kernel_cost.<hw>.rerun_one_block``) is the finding that made the
block the replicate, and stays on the pages as the reason.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from actbench import rerun
from actbench.claims import load_claims
from actbench.report.common import markdown_table
from actbench.results import atomic_write_text, hardware_ids, read_parquet

TOLERANCE = 0.10
# (study, prefix, first run, second run), paths relative to the machine's folder
PAIRS = (("kernels", "rerun", "kernels.parquet", "rerun/kernels.parquet"),
         ("kernel_cost", "rerun", "kernel_cost.parquet", "rerun/kernel_cost.parquet"),
         ("kernel_cost", "rerun_one_block", "rerun/kernel_cost.one-block.first.parquet",
          "rerun/kernel_cost.one-block.second.parquet"))


def cost_verdicts(df, hw: str) -> dict[str, str]:
    """claim id -> the verdict one ``kernel_cost`` run alone gives each cost claim, decided by
    the ledger's own rules on a scratch book holding only that run's numbers."""
    from actbench.report import kernel_cost
    from actbench.report.ledger import decide
    from actbench.report.numbers import NumberBook

    scratch = NumberBook()
    scratch.use_machine(hw)
    kernel_cost.record(df, hw, scratch, source="")
    return {c["id"]: decide(c, hw, scratch)["verdict"] for c in load_claims() if c["study"] == "kernel_cost"
            and c["rule"]["kind"] != "not_testable" and not c.get("context")}


def verdict_agreement(old, new, hw: str, label: str, book, source: str, out_dir: Path) -> None:
    """Do two runs decide the cost claims alike? Counts, and a table of the claims they split."""
    a, b = cost_verdicts(old, hw), cost_verdicts(new, hw)
    prefix = f"kernel_cost.{hw}.{label}.verdicts"
    same = [cid for cid in a if a[cid] == b.get(cid)]
    book.add(f"{prefix}.compared", len(a), "d", source=source, hw=hw, exact=True)
    book.add(f"{prefix}.agree", len(same), "d", source=source, hw=hw, exact=True)
    split = [{"claim": f"[{cid}](ledger.md#claim-{cid})", "first run": a[cid], "second run": b.get(cid, "–")}
             for cid in a if cid not in same]
    text = markdown_table(pd.DataFrame(split)) if split else "Both runs give every cost claim the same verdict.\n"
    atomic_write_text(out_dir / "tables" / f"kernel_cost-{label}-verdicts-{hw}.md", text)


def build(results_dir: Path, out_dir: Path, book) -> None:
    for hw in hardware_ids(results_dir):
        if not book.use_machine(hw):
            continue
        for study, label, first_name, second_name in PAIRS:
            first, second = results_dir / hw / first_name, results_dir / hw / second_name
            if not (first.exists() and second.exists()):
                continue
            old, new = read_parquet(first), read_parquet(second)
            pair = rerun.compare_cost(old, new, TOLERANCE) if study == "kernel_cost" else \
                rerun.compare(old, new, tolerance=TOLERANCE)
            source = f"{first} vs {second}"
            if study == "kernel_cost":
                verdict_agreement(old, new, hw, label, book, source, out_dir)
            groups = pair.groupby(["regime", "quantity"]) if study == "kernel_cost" else pair.groupby("quantity")
            for key, grp in groups:
                name = ".".join(key) if isinstance(key, tuple) else key
                prefix = f"{study}.{hw}.{label}.{name}"
                book.add(f"{prefix}.compared", len(grp), "d", source=source, hw=hw, exact=True)
                book.add(f"{prefix}.within_pct", 100 * float(grp["within"].mean()), ".0f", source=source, hw=hw,
                         exact=True)
                book.add(f"{prefix}.median_change_pct", 100 * float(grp["change"].abs().median()), ".1f",
                         source=source, hw=hw, exact=True)
                if "overlap" in grp and grp["overlap"].notna().any():  # runs with intervals on both sides
                    book.add(f"{prefix}.overlap_pct", 100 * float(grp["overlap"].mean()), ".0f", source=source,
                             hw=hw, exact=True)
