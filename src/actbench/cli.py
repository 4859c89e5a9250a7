"""Command line: ``actbench <command>`` or ``python -m actbench <command>``.

Every Snakemake rule runs one of these commands, so each step also runs by hand.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys

from actbench.cliutil import writable_folder
from actbench.studies import get as study_unit, study_names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="actbench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in study_names():
        study = study_unit(name)
        p = sub.add_parser(name, help=study.summary)
        p.add_argument("--results", default="results", type=writable_folder,
                       help="results folder (default: results)")
        study.add_arguments(p)
        p.set_defaults(handler=study.run)

    importlib.import_module("actbench.diagnostics").add_subparser(sub)
    importlib.import_module("actbench.rerun").add_subparser(sub)

    p = sub.add_parser("report", help="figures, tables, numbers.json and claims.json from results/")
    p.add_argument("--results", default="results", help="results folder (default: results)")
    p.add_argument("--out", default="docs/generated", type=writable_folder,
                   help="output folder (default: docs/generated)")
    p.add_argument("--hw", default=None, help="limit to one hardware id (default: every machine in results/)")
    p.set_defaults(handler=lambda args: importlib.import_module("actbench.report").run(args))

    # Listed for --help only: main() hands gpu-check over before this parser is built.
    sub.add_parser("gpu-check", help="CUDA: the prepared GPU run: kernel verification, launch configurations, "
                   "training step, kernel timings (no Snakemake needed; --rehearse: on the CPU)")

    p = sub.add_parser("hwid", help="print this machine's hardware id")
    p.set_defaults(handler=lambda args: print(importlib.import_module("actbench.hardware").hw_id()))

    p = sub.add_parser("fingerprint", help="print this machine's hardware fingerprint as JSON")
    p.set_defaults(handler=lambda args: print(json.dumps(
        importlib.import_module("actbench.hardware").fingerprint(), indent=2)))
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["gpu-check"]:  # bare GPU machines: no imports of the other commands' dependencies
        return importlib.import_module("actbench.gpu_check").main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        if args.command in study_names():  # a bad ACTBENCH_HW_ID fails now, not after the study has run
            importlib.import_module("actbench.hardware").hw_id()
        args.handler(args)
    except (ValueError, RuntimeError, KeyError, OSError) as exc:
        # Expected failures (bad values, missing files) get one clear line, not a traceback.
        print(f"actbench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0
