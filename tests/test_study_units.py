"""Study units (actbench.studies.unit): a study's declaration is the one place its
parameters, jobs, report, claims and page live; the CLI, the generated config and schema,
the Snakemake DAG and the report derive from it."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from actbench.studies import generate, units
from actbench.studies.unit import Param, Study

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
UNITS = units()


# ── Param: one value's type, bounds and words ────────────────────────────────────

def test_param_refuses_out_of_range_values_naming_the_value_and_the_range():
    p = Param("lr", 1e-3, "learning rate", exclusive_minimum=0)
    assert p.convert("0.01") == 0.01
    with pytest.raises(argparse.ArgumentTypeError, match=r"^-1\.0 is not allowed; expected a number > 0$"):
        p.convert("-1")
    with pytest.raises(argparse.ArgumentTypeError, match=r"'nan' is not allowed; expected a finite number"):
        p.convert("nan")
    with pytest.raises(argparse.ArgumentTypeError, match=r"'x' is not allowed; expected a number > 0"):
        p.convert("x")
    seeds = Param("epochs", 3, "epochs", minimum=1, maximum=10)
    with pytest.raises(argparse.ArgumentTypeError, match=r"expected an integer ≥ 1 and ≤ 10$"):
        seeds.convert("11")


def test_param_words_round_trip_through_argparse():
    params = (Param("seeds", 3, "seeds", seeds=True, minimum=2), Param("slopes", [0.0, 0.1], "slopes", minimum=0),
              Param("names", [], "names", min_items=0, type=str), Param("limit", None, "limit", type=int, nullable=True),
              Param("flag", False, "a switch"))
    study = Study("toy", "A toy study.", ["x"], params, run=lambda args: None)
    parser = argparse.ArgumentParser()
    study.add_arguments(parser)
    cfg = {"seeds": 4, "slopes": [0.2, 0.3], "names": [], "limit": None, "flag": True}
    args = parser.parse_args(study.cli_words(cfg))
    assert args.seeds == [0, 1, 2, 3] and args.slopes == [0.2, 0.3] and args.names == [] and args.limit is None
    assert args.flag is True


def test_settings_hash_leaves_out_only_the_parameters_that_choose_rows():
    params = (Param("activations", ["relu"], "names", type=str), Param("seeds", 2, "seeds", seeds=True),
              Param("epochs", 3, "epochs", minimum=1), Param("widths", [8, 8], "layer widths", selects=False),
              Param("budget", None, "a time budget", type=float, nullable=True, selects=True))
    study = Study("toy", "A toy study.", ["activation", "seed"], params, run=lambda args: None)
    parser = argparse.ArgumentParser()
    study.add_arguments(parser)

    def digest(*words):
        settings = study.settings(parser.parse_args(list(words)))
        return settings, study.settings_hash(settings)

    settings, base = digest()
    assert settings == {"activations": ["relu"], "seeds": [0, 1], "epochs": 3, "widths": [8, 8], "budget": None}
    assert [p.name for p in params if p.chooses_rows] == ["activations", "seeds", "budget"]
    # choosing other rows keeps the hash: such runs may share a file by key
    assert digest("--activations", "gelu", "--seeds", "5", "--budget", "9")[1] == base
    # changing what a row holds does not
    assert digest("--epochs", "4")[1] != base and digest("--widths", "8", "16")[1] != base


def test_schema_of_a_list_requires_items_unless_empty_is_allowed():
    assert Param("xs", [1], "xs").schema()["minItems"] == 1
    assert Param("xs", [], "xs", min_items=0, type=str).schema()["minItems"] == 0
    assert Param("n", None, "n", type=int, nullable=True).schema()["oneOf"][1] == {"type": "null"}


def test_for_job_narrows_the_arguments_to_one_job():
    study = Study("toy", "A toy study.", ["x"], (Param("activations", ["relu", "gelu"], "names"),),
                  run=lambda args: None, jobs=lambda cfg: [f"{a}-s0" for a in cfg["activations"]],
                  job_options=lambda job, args: {"activations": [job.split("-")[0]]})
    args = argparse.Namespace(activations=["relu", "gelu"], part="gelu-s0")
    assert study.for_job(args).activations == ["gelu"]
    assert study.for_job(argparse.Namespace(activations=["relu"], part=None)).activations == ["relu"]


def test_a_parameter_declared_twice_is_refused():
    with pytest.raises(ValueError, match="declared twice"):
        Study("toy", "A toy study.", ["x"], (Param("a", 1, "a"), Param("a", 2, "a")), run=lambda args: None)


# ── every declared study ─────────────────────────────────────────────────────────

@pytest.mark.parametrize("name", sorted(UNITS))
def test_every_study_declaration_is_complete_and_its_values_pass_its_own_checks(name):
    study = UNITS[name]
    assert re.fullmatch(r"[A-Z].*\.", study.summary), f"{name}: summary is not one sentence: {study.summary!r}"
    assert study.key or not study.split, f"{name}: no upsert key"  # a one-job study may write its whole file
    assert study.report, f"{name}: no report"
    page = study.page.split("#")[0]
    assert (ROOT / "docs" / page).exists(), f"{name}: page {study.page} is not in docs/"
    for quick in (False, True):
        cfg = study.defaults(quick=quick)
        for p in study.config_params:
            for value in (cfg[p.name] if isinstance(cfg[p.name], list) else [cfg[p.name]]):
                if value is not None and not p.seeds:
                    p.convert(str(value).lower() if isinstance(value, bool) else str(value))
        jobs = study.job_names(cfg)
        assert len(jobs) == len(set(jobs)), f"{name}: duplicate job names"


@pytest.mark.parametrize("name", sorted(UNITS))
def test_the_pipeline_flags_parse_back_to_the_config_values(name):
    """What the rule passes is what the study runs: every config value survives the trip
    through its command-line flag."""
    from actbench.cli import build_parser

    study = UNITS[name]
    cfg = study.defaults()
    args = build_parser().parse_args([name, *study.cli_words(cfg)])
    for p in study.config_params:
        value = getattr(args, p.name)
        expected = list(range(cfg[p.name])) if p.seeds else cfg[p.name]
        if p.parse and isinstance(expected, list):  # e.g. threads "all" -> this machine's core count
            expected = [p.convert(str(v)) for v in expected]
        if isinstance(expected, list) and not expected:
            assert value in ([], None), (name, p.name, value)
        else:
            assert value == expected, (name, p.name, value, expected)


def test_committed_config_and_schema_equal_the_generated_ones():
    for path, text in generate.outputs().items():
        assert path.read_text() == text, (f"{path.relative_to(ROOT)} is stale: run "
                                          "python -m actbench.studies.generate")


def test_generated_configs_validate_against_the_generated_schema():
    import jsonschema

    schema = generate.schema()
    for path in (generate.CONFIG, generate.QUICK):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)


def test_report_lists_every_study_report_once():
    from actbench.report import report_modules

    modules = report_modules()
    assert len(modules) == len(set(modules))
    assert {u.report for u in UNITS.values()} <= set(modules)


def _planned_outputs(workdir: Path, configfile: Path) -> set[str]:
    """Every file the DAG would write under results/ (Snakemake's --summary of a fresh folder)."""
    proc = subprocess.run([str(BIN / "snakemake"), "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
                           "--configfile", str(configfile), "--summary", "--cores", "1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = {line.split("\t")[0] for line in proc.stdout.splitlines()[1:] if line.strip()}
    return {f for f in files if f.startswith("results/")}


@pytest.mark.parametrize("configfile", [generate.CONFIG, generate.QUICK], ids=["default", "quick"])
def test_dry_run_plans_exactly_the_jobs_the_declarations_imply(tmp_path, configfile):
    from actbench.hardware import hw_id

    hw = hw_id()
    config = yaml.safe_load(configfile.read_text())
    expected = set()
    for name, study in UNITS.items():
        section = config
        for key in study.config_path:
            section = section[key]
        expected.add(f"results/{hw}/{name}.parquet")
        if study.split:
            expected |= {f"results/{hw}/parts/{name}/{job}.parquet" for job in study.job_names(section)}
    assert _planned_outputs(tmp_path, configfile) == expected


# ── a newcomer's study: one module and one page ──────────────────────────────────

TOY = '''
"""Study `toy_sum`: a newcomer's study (the test's)."""
import pandas as pd

from actbench.studies import parts
from actbench.studies.unit import Param, Study

NAME = "toy_sum"
KEY = ["seed"]


def run(args):
    args = STUDY.for_job(args)
    if args.merge:
        return parts.merge_parts(NAME, args.results, args.merge)
    df = pd.DataFrame({"seed": args.seeds, "value": [4 * args.scale + 0.01 * s for s in args.seeds]})
    return parts.finish(df, NAME, args, KEY)


def report(results_dir, out_dir, book):
    from actbench.measurement import mean_of
    from actbench.results import hardware_ids, read_parquet

    for hw in hardware_ids(results_dir):
        path = results_dir / hw / "toy_sum.parquet"
        if path.exists():
            book.use_machine(hw)
            book.add(f"toy_sum.{hw}.value", mean_of(read_parquet(path)["value"]), hw=hw)


STUDY = Study(
    NAME, "Writes one number per seed (a newcomer's example).", KEY,
    params=(Param("seeds", 3, "replicates", seeds=True, minimum=2),
            Param("scale", 2.0, "the number added per seed", quick=1.0, exclusive_minimum=0)),
    run=run, jobs=lambda cfg: [f"s{s}" for s in range(cfg["seeds"])],
    job_options=lambda job, args: {"seeds": [int(job[1:])]},
    job_arguments=parts.add_job_flags, report=report, page="index.md",
    claims=({"id": "toy-sum-value", "section": "1", "claim": "The toy value is about 4", "claimed": 4.0,
             "metric": "value", "rule": {"kind": "abs_tol", "tol": 2}},),
)
'''


def test_a_new_study_is_one_module_and_appears_everywhere(tmp_path):
    """Write one unit into a copy of the package: it is in the CLI, the generated schema and
    config, the DAG (its jobs and merge), the report and the ledger, with a verdict."""
    copy = tmp_path / "repo"
    for part in ("src", "workflow", "Snakefile", "pyproject.toml"):
        (shutil.copytree if (ROOT / part).is_dir() else shutil.copy)(ROOT / part, copy / part)
    (copy / "src/actbench/studies/toy_sum.py").write_text(textwrap.dedent(TOY))
    env = {"PYTHONPATH": str(copy / "src"), "PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path)}

    def run(*cmd, cwd=copy):
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=900)
        assert proc.returncode == 0, f"{cmd}:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        return proc.stdout

    assert "toy_sum" in run(sys.executable, "-m", "actbench", "--help")
    assert "--scale" in run(sys.executable, "-m", "actbench", "toy_sum", "--help")
    run(sys.executable, "-m", "actbench.studies.generate")
    schema = yaml.safe_load((copy / "workflow/schemas/config.schema.yaml").read_text())
    assert schema["properties"]["toy_sum"]["properties"]["scale"]["exclusiveMinimum"] == 0
    assert yaml.safe_load((copy / "workflow/config.quick.yaml").read_text())["toy_sum"] == {"seeds": 3, "scale": 1.0}
    work = tmp_path / "work"
    run(str(BIN / "snakemake"), f"results/{_hw(env)}/toy_sum.parquet",  # before --configfile (it takes a list)
        "-s", str(copy / "Snakefile"), "--directory", str(work), "--cores", "2",
        "--configfile", str(copy / "workflow/config.quick.yaml"))
    parts_dir = work / "results" / _hw(env) / "parts" / "toy_sum"
    assert sorted(p.name for p in parts_dir.glob("*.parquet")) == ["s0.parquet", "s1.parquet", "s2.parquet"]
    run(sys.executable, "-m", "actbench", "report", "--results", str(work / "results"), "--out", str(tmp_path / "gen"))
    claims = yaml.safe_load((tmp_path / "gen" / "claims.json").read_text())["claims"]
    toy = [c for c in claims if c["id"] == "toy-sum-value"]
    # The quick preset (scale 1) writes 4.00, 4.01, 4.02: the interval lies inside 4 ± 2.
    assert [c["verdict"] for c in toy] == ["confirmed"], toy


def _hw(env) -> str:
    return subprocess.run([sys.executable, "-m", "actbench", "hwid"], capture_output=True, text=True,
                          env=env, check=True).stdout.strip()
