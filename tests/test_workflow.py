"""The pipeline end to end: dry run, the quick slice into a temp dir, config validation,
and the docs built from that slice with --strict."""

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from actbench.hardware import hw_id

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def snakemake(*args, cwd=ROOT, check=True):
    cmd = [str(BIN / "snakemake"), "-s", str(ROOT / "Snakefile"), *args]
    env = {**__import__("os").environ, "PATH": f"{BIN}:{__import__('os').environ['PATH']}"}
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=1200)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


# The quick pipeline takes five to eight minutes on 2 cores, a third of CI's 20-minute
# budget: the tests that need its whole run are in `make test-slow`. CI still runs
# Snakemake end to end on subsets (tests/test_kernels_workflow.py, tests/test_faults.py).
QUICK_PIPELINE = pytest.mark.slow


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory):
    """Run the quick configuration once into a temp dir; shared by the tests below."""
    workdir = tmp_path_factory.mktemp("pipeline")
    proc = snakemake("--directory", str(workdir), "--cores", "2",
                     "--configfile", str(ROOT / "workflow/config.quick.yaml"))
    return workdir, proc


def test_workflow_has_no_lints():
    """`snakemake --lint` finds nothing (the snakemake-workflows conventions: log: on every
    rule, no absolute paths, helpers in common.smk, ...)."""
    proc = snakemake("--lint", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "Lints for" not in out, out[-4000:]


# The quick presets of the timing studies time only relu and gelu on small models: a
# timing at toy sizes decides nothing, and timing every activation would not fit the
# quick run's three minutes. Their claims are left pending in a quick run, by design.
QUICK_TIMING_ONLY = {"kernels", "kernel_cost", "training_step"}


@QUICK_PIPELINE
def test_quick_run_leaves_no_claim_pending(quick_run):
    """Every non-timing study of the quick preset produces what its claims need."""
    import json

    workdir, _ = quick_run
    claims = json.loads((workdir / "docs/generated/claims.json").read_text())["claims"]
    pending = sorted({c["id"] for c in claims if c["verdict"] == "pending" and c["study"] not in QUICK_TIMING_ONLY})
    assert not pending, f"claims the quick run left pending: {pending}"


@QUICK_PIPELINE
def test_quick_slice_writes_results_and_report(quick_run):
    workdir, _ = quick_run
    shapes = pd.read_parquet(workdir / "results" / hw_id() / "shapes.parquet")
    assert {"activation", "quantity", "x", "value", "hw_id", "torch_version"} <= set(shapes.columns)
    assert (workdir / "docs/generated/numbers.json").exists()
    assert (workdir / "docs/generated/figures/shapes.svg").stat().st_size > 10_000


@QUICK_PIPELINE
def test_second_run_has_nothing_to_do(quick_run):
    workdir, _ = quick_run
    proc = snakemake("--directory", str(workdir), "--cores", "8",
                     "--configfile", str(ROOT / "workflow/config.quick.yaml"))
    assert "Nothing to be done" in proc.stdout + proc.stderr


@pytest.mark.parametrize("changed", ["src/actbench/claims.yaml", "src/actbench/verdicts.py",
                                     "src/actbench/report/ledger.py", "results/<hw>/shapes.parquet"])
@QUICK_PIPELINE
def test_editing_claims_verdict_code_or_results_reruns_the_report(quick_run, changed):
    """The ledger is never stale: its declared inputs are the claims, the verdict and
    report code and every machine's results. (Snakemake reruns on a changed content, not
    on a touched file, so the test changes the content and puts it back.)"""
    workdir, _ = quick_run
    import os

    path = (workdir / changed.replace("<hw>", hw_id())) if changed.startswith("results") else ROOT / changed
    before, stat = path.read_bytes(), path.stat()
    try:
        if path.suffix == ".parquet":
            pd.read_parquet(path).head(5).to_parquet(path)
        else:
            path.write_bytes(before + b"\n# a change the report must see\n")
        proc = snakemake("--directory", str(workdir), "-n", "--cores", "8",
                         "--configfile", str(ROOT / "workflow/config.quick.yaml"))
        planned = proc.stdout + proc.stderr
        assert "rule report:" in planned or "localrule report:" in planned, planned[-2000:]
    finally:
        path.write_bytes(before)
        os.utime(path, (stat.st_atime, stat.st_mtime))


def test_every_module_the_report_imports_is_a_declared_input_of_the_report_rule():
    """The fast half of the staleness check above: every actbench file that running the
    report loads (its own modules, every study's, and what they import) matches one of
    the report rule's declared code patterns, so editing it reruns the report."""
    import fnmatch
    import re

    rule = (ROOT / "workflow/rules/report.smk").read_text()
    block = rule[rule.index("REPORT_CODE = sorted("):]
    block = block[:block.index("\n)\n")]
    patterns = [str(ROOT / "src/actbench" / p) for p in re.findall(r'_glob\.glob\(f"\{_SRC\}/([^"]+)"\)', block)]
    assert patterns, "no glob patterns found in REPORT_CODE"
    probe = ("import importlib, pkgutil, sys, actbench.report as r, actbench.studies as s\n"
             "for pkg in (r, s):\n"
             "    for m in pkgutil.iter_modules(pkg.__path__): importlib.import_module(f'{pkg.__name__}.{m.name}')\n"
             "print('\\n'.join(sorted(m.__file__ for n, m in sys.modules.items()\n"
             "                        if n.startswith('actbench') and getattr(m, '__file__', None))))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                            cwd=ROOT).stdout.split()
    data = [str(ROOT / "src/actbench" / n) for n in ("claims.yaml", "columns.yaml", "tutorial_outline.yaml")]
    missing = [f for f in loaded + data if f.endswith((".py", ".yaml"))
               and not any(fnmatch.fnmatch(f, p) for p in patterns)]
    assert not missing, f"the report loads these but the rule does not declare them: {missing}"


@pytest.mark.parametrize("bad, message", [
    ("shapes:\n  grid_limt: 3\n", "'grid_limt' was unexpected"),
    ("shapes:\n  points: many\n", "'many' is not of type 'integer'"),
    ("shapes:\n  activations: [gelu, geluu]\n", "unknown activation 'geluu'; valid names: sigmoid"),
    ("result_dir: x\n", "'result_dir' was unexpected"),
])
def test_bad_config_is_refused_with_a_clear_message(tmp_path, bad, message):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(bad)
    proc = snakemake("--directory", str(tmp_path), "-n", "--cores", "1", "--configfile", str(cfg), check=False)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()


def build_docs(workdir: Path, generated: Path) -> Path:
    """Copy mkdocs.yml and docs/ next to `generated`, build with --strict, return site dir."""
    site_src = workdir / "docs-src"
    shutil.copytree(ROOT / "docs", site_src / "docs", ignore=shutil.ignore_patterns("generated"))
    shutil.copytree(generated, site_src / "docs" / "generated")
    shutil.copy(ROOT / "mkdocs.yml", site_src / "mkdocs.yml")
    proc = subprocess.run([str(BIN / "mkdocs"), "build", "--strict", "--site-dir", str(workdir / "site")],
                          cwd=site_src, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return workdir / "site"


@QUICK_PIPELINE
def test_docs_build_strict_with_live_number(quick_run):
    workdir, _ = quick_run
    site = build_docs(workdir, workdir / "docs/generated")
    html = (site / "activations" / "index.html").read_text()
    # The GELU minimum as recomputed from the parquet, formatted as the report does.
    shapes = pd.read_parquet(workdir / "results" / hw_id() / "shapes.parquet")
    min_x = shapes.query("activation == 'gelu' and quantity == 'min_x'")["value"].item()
    assert format(min_x, ".4g").replace("-", "−") in html
    for page in site.rglob("*.html"):
        text = page.read_text()
        assert "{{" not in text and "Macro Rendering Error" not in text, page
