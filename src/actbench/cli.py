"""Command line: ``actbench <command>`` or ``python -m actbench <command>``.

Every Snakemake rule runs one of these commands, so each step also runs by hand.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys

from actbench.cliutil import writable_folder
from actbench.results import BY_HAND_RESULTS
from actbench.studies import get as study_unit, study_names


def summary(doc: str | None) -> str:
    """A docstring's first paragraph on one line: a command's one-line help."""
    return " ".join((doc or "").strip().split("\n\n")[0].split())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="actbench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in study_names():
        study = study_unit(name)
        p = sub.add_parser(name, help=study.summary, formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("--results", default=BY_HAND_RESULTS, type=writable_folder,
                       help=f"results folder (default: {BY_HAND_RESULTS}, so that a run by hand never touches the "
                       "pipeline's results/; pass --results results to write there)")
        p.add_argument("--replace", action="store_true",
                       help="replace the results file even when its rows were made with other settings (without "
                       "it, such a run stops before any work)")
        study.add_arguments(p)
        # The summary leads; the module's docstring says more, and a split study's epilog
        # lists its jobs.
        doc = (importlib.import_module(f"actbench.studies.{name}").__doc__ or "").strip()
        p.description = "\n\n".join(text for text in (study.summary, doc) if text)
        p.set_defaults(handler=study.run)

    importlib.import_module("actbench.diagnostics").add_subparser(sub)
    importlib.import_module("actbench.rerun").add_subparser(sub)

    p = sub.add_parser("report", help="Write the figures, tables, numbers.json and claims.json from results/.",
                       description="Turn every machine's results/<hw_id>/<study>.parquet into what the docs show: "
                       "figures, Markdown tables (the data dictionary among them), numbers.json and the claims "
                       "ledger's claims.json. Cheap: it trains and times nothing.")
    p.add_argument("--results", default="results", help="results folder (default: results)")
    p.add_argument("--out", default="docs/generated", type=writable_folder,
                   help="output folder (default: docs/generated)")
    p.add_argument("--hw", default=None, help="limit to one hardware id (default: every machine in results/)")
    p.set_defaults(handler=lambda args: importlib.import_module("actbench.report").run(args))

    # Listed for --help only: main() hands gpu-check over before this parser is built.
    sub.add_parser("gpu-check", help="Run the prepared GPU measurements on a CUDA machine: kernel verification, "
                   "launch configurations, training step and kernel timings (no Snakemake needed; --rehearse "
                   "runs them on the CPU).", description=summary(importlib.import_module("actbench.gpu_check").__doc__))

    p = sub.add_parser("hwid", help="Print this machine's hardware id.",
                       description="Print the id of the folder results/<hw_id>/ this machine's results go to "
                       "(the environment variable ACTBENCH_HW_ID overrides it).")
    p.set_defaults(handler=lambda args: print(importlib.import_module("actbench.hardware").hw_id()))

    p = sub.add_parser("fingerprint", help="Print this machine's hardware fingerprint as JSON.",
                       description="Print, as JSON, the machine and library facts every results row carries "
                       "(CPU, cores, memory, caches, versions, commit; GPU facts on a CUDA machine).")
    p.set_defaults(handler=lambda args: print(json.dumps(
        importlib.import_module("actbench.hardware").fingerprint(), indent=2)))
    return parser


def study_run(name: str, args: argparse.Namespace):
    """The settings a run of study ``name`` records on its rows, after checking, before
    any work, that the file it writes holds no rows made with other settings
    (``actbench.results.check_settings``; ``--replace`` skips that check)."""
    from actbench import results
    from actbench.studies.parts import part_path

    unit = study_unit(name)
    merge, part = getattr(args, "merge", None), getattr(args, "part", None)
    if merge and args.replace:
        raise ValueError("--replace does nothing with --merge: a merge always writes the study file from the "
                         "parts it is given; drop --replace")
    settings = unit.settings(args)
    # A pipeline job replaces its file on purpose (Snakemake reruns it when its settings
    # changed). Locally Snakemake has removed the file already; on a cluster it removes only
    # the link it tracks, and the link folder it sets says this is such a job.
    replace = args.replace or bool(os.environ.get("ACTBENCH_LINK_DIR"))
    run = results.RunSettings(study=name, settings=settings, hash=unit.settings_hash(settings),
                              selection=tuple(p.name for p in unit.params if p.chooses_rows), replace=replace)
    if not merge:  # a merge writes what the parts hold (each part file checked when it was written)
        target = part_path(args.results, name, part) if part else results.study_path(name, args.results)
        results.check_settings(target, run, upsert=bool(unit.key) and not part)
    return run


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["gpu-check"]:  # bare GPU machines: no imports of the other commands' dependencies
        return importlib.import_module("actbench.gpu_check").main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        run = None
        if args.command in study_names():  # a bad ACTBENCH_HW_ID fails now, not after the study has run
            importlib.import_module("actbench.hardware").hw_id()
            run = study_run(args.command, args)  # and so does a results file it must not replace
        with importlib.import_module("actbench.results").recording(run):
            args.handler(args)
    except (ValueError, RuntimeError, KeyError, OSError) as exc:
        # Expected failures (bad values, missing files) get one clear line, not a traceback.
        print(f"actbench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0
