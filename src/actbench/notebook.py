"""Execute the experiments notebook against a results folder and keep the executed copy.

    python -m actbench.notebook --results results --out docs/generated/experiments.ipynb

The docs render the executed copy without running it again (mkdocs-jupyter with
execute: false), so the site never computes anything and shows exactly what this
step produced. A failing cell raises, so the Snakemake rule and CI fail with it.
In the copy, markdown maths is wrapped for the site's MathJax (see wrap_maths).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from actbench.hardware import PROJECT_ROOT
from actbench.results import atomic_write_text, hardware_ids, read_parquet

DEFAULT_NOTEBOOK = PROJECT_ROOT / "notebooks" / "experiments.ipynb"


# In a markdown cell: code (left alone), $$display$$ or $inline$ maths.
MATH = re.compile(r"(```.*?```|`[^`\n]*`)|\$\$(.+?)\$\$|(?<![\\$])\$(?=\S)([^$\n]+?)(?<=\S)\$", re.S)


def wrap_maths(markdown: str) -> str:
    """Put each formula in an "arithmatex" element: the site's MathJax set-up (the same
    as for pymdownx.arithmatex) typesets only those, and ignores bare $…$ text."""
    def wrap(m: re.Match) -> str:
        if m.group(1):
            return m.group(1)
        if m.group(2) is not None:
            return f'<div class="arithmatex">$${m.group(2)}$$</div>'
        return f'<span class="arithmatex">${m.group(3)}$</span>'

    return MATH.sub(wrap, markdown)


def execute(notebook: Path, results: Path, out: Path, timeout: int = 600) -> Path:
    import nbformat
    from nbclient import NotebookClient

    notebook, results = Path(notebook), Path(results)
    if not notebook.exists():
        raise FileNotFoundError(f"notebook {notebook} does not exist")
    if not results.is_dir():
        raise FileNotFoundError(f"results folder {results} does not exist; run the pipeline first")
    # Read every results file here first: a damaged one then stops with one line naming it
    # (actbench.results), not with a cell's pyarrow traceback that does not say which file.
    for machine in hardware_ids(results):
        for path in sorted((results / machine).glob("*.parquet")):
            read_parquet(path)
    nb = nbformat.read(notebook, as_version=4)
    # The kernel inherits this environment; the notebook reads its results folder from it.
    env = {**os.environ, "ACTBENCH_RESULTS": str(results.resolve()), "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", allow_errors=False,
        record_timing=False,  # no timestamps: unchanged results give an unchanged file
        resources={"metadata": {"path": str(notebook.parent)}},
    )
    client.execute(env=env)  # raises CellExecutionError at the first failing cell
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = wrap_maths(cell.source)
    atomic_write_text(Path(out), nbformat.writes(nb))
    return Path(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m actbench.notebook", description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="results", help="results folder (default: results)")
    parser.add_argument("--notebook", default=str(DEFAULT_NOTEBOOK), help="notebook to execute")
    parser.add_argument("--out", default="docs/generated/experiments.ipynb", help="executed copy to write")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell (default: 600)")
    args = parser.parse_args(argv)
    try:
        path = execute(Path(args.notebook), Path(args.results), Path(args.out), args.timeout)
    except Exception as exc:  # a failing cell: show which one and why, exit non-zero
        print(f"actbench.notebook: error: {exc}", file=sys.stderr)
        return 1
    print(f"notebook: executed {args.notebook} -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
