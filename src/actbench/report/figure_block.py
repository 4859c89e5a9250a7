"""The Markdown of a generated figure: the image, a caption that names the machine and run
of the rows it was drawn from, and a link to the CSV of exactly its plotted points.

One function for both users: the figure() macro of docs/macros.py (pages) and report
modules that write figures into generated Markdown (the kernels page's machine tabs). It
reads the <name>.json that report.common.save_figure writes next to <name>.svg. No
plotting imports here: the docs build loads this module.
"""

from __future__ import annotations

import json
from pathlib import Path


def figure_meta(figures_dir: Path, name: str) -> dict:
    path = Path(figures_dir) / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"figure {name!r} has no {path}: the report step did not draw it "
                                "(no results for its study yet?); run `python -m actbench report`")
    return json.loads(path.read_text())


def figure_block(meta: dict, folder: str, alt: str, caption: str = "") -> str:
    """``folder``: the figures folder relative to the page that shows the figure."""
    runs = "; ".join(f"`{r['study']}` on `{r['hw']}`, run {r['run']} UTC, commit `{r['commit']}`"
                     for r in meta["runs"])
    text = f"{caption.strip()} " if caption.strip() else ""
    return (f'<figure class="actbench-figure" markdown="span">\n'
            f'  ![{alt}]({folder}/{meta["figure"]})\n'
            f'  <figcaption markdown="span">{text}<small>Data: {runs}. '
            f'[Plotted points (CSV, {meta["rows"]} rows)]({folder}/{meta["csv"]})'
            '{ .figure-data }</small></figcaption>\n'
            "</figure>\n")
