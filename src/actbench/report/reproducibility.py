"""Do the timing studies reproduce? Numbers for the Methodology and Kernels pages.

A machine's folder may hold a second, later run of a timing study in
``results/<hw_id>/rerun/<study>.parquet`` (run by hand, alone, with the same settings:
``python -m actbench kernels --results /tmp/rerun ...`` then copy the file there). This
module compares it with the committed run exactly as ``python -m actbench rerun-check``
does and records, per quantity, how many same-run ratios moved by at most 10 % and the
median change, so that the pages state how far a single measurement can be trusted.
"""

from __future__ import annotations

from pathlib import Path

from actbench import rerun
from actbench.results import hardware_ids, read_parquet

TOLERANCE = 0.10
STUDIES = ("kernels", "kernel_cost")


def build(results_dir: Path, out_dir: Path, book) -> None:
    for hw in hardware_ids(results_dir):
        if not book.use_machine(hw):
            continue
        for study in STUDIES:
            first, second = results_dir / hw / f"{study}.parquet", results_dir / hw / "rerun" / f"{study}.parquet"
            if not (first.exists() and second.exists()):
                continue
            old, new = read_parquet(first), read_parquet(second)
            pair = rerun.compare_cost(old, new, TOLERANCE) if study == "kernel_cost" else \
                rerun.compare(old, new, tolerance=TOLERANCE)
            source = f"{first} vs {second}"
            groups = pair.groupby(["regime", "quantity"]) if study == "kernel_cost" else pair.groupby("quantity")
            for key, grp in groups:
                name = ".".join(key) if isinstance(key, tuple) else key
                prefix = f"{study}.{hw}.rerun.{name}"
                book.add(f"{prefix}.compared", len(grp), "d", source=source, hw=hw, exact=True)
                book.add(f"{prefix}.within_pct", 100 * float(grp["within"].mean()), ".0f", source=source, hw=hw,
                         exact=True)
                book.add(f"{prefix}.median_change_pct", 100 * float(grp["change"].abs().median()), ".1f",
                         source=source, hw=hw, exact=True)
                if "overlap" in grp:
                    book.add(f"{prefix}.overlap_pct", 100 * float(grp["overlap"].mean()), ".0f", source=source,
                             hw=hw, exact=True)
