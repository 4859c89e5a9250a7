"""`python -m actbench gpu-check`: one command for a CUDA machine.

1. Verifies every Triton kernel on the device against the float64 registry reference
   (``actbench.kernels.verify``) and writes ``results/<hw_id>/kernels_verify.parquet``.
2. Runs the kernels study there: every provider (eager, eager_out, manual, compile,
   triton), float32/bfloat16/float16, sizes 2^12..2^28, ``triton.testing.do_bench``
   with L2 flush, the copy bandwidth measured in the same run; writes
   ``results/<hw_id>/kernels.parquet`` (after each size, so a killed run keeps its rows).
3. Prints a short summary table last: the Triton kernels' fraction of copy bandwidth at
   the largest size against the targets (forward >= 90 %, backward >= 85 %) and their
   time relative to torch.compile.

It needs only torch, triton, pandas and pyarrow (no Snakemake, tqdm or plotting), so a
bare GPU machine runs it from a checkout with ``PYTHONPATH=src python -m actbench gpu-check``.
The whole command keeps to ``--budget-s`` seconds (default 420, inside the 8 minutes an
H200 is given): when the budget runs out no new measurement starts, the rows so far are
written, and the summary says the sweep was cut short (smallest sizes go first).
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd
import torch

from actbench.activations import elementwise_names
from actbench.providers import available_providers
from actbench.results import write_study
from actbench.studies import kernels as study
from actbench.timing import MODES, CudaSettings

DEFAULT_LOG2_SIZES = [12, 16, 20, 24, 26, 28]
DTYPES = ["float32", "bfloat16", "float16"]
TARGET = {"forward": 0.90, "backward": 0.85}  # fraction of copy bandwidth, sizes >= 2^26
TARGET_MIN_LOG2 = 26
RESERVE_S = 25.0  # budget kept back for writing the results and the summary
VERIFY_KEY = ["activation", "dtype", "numel", "direction", "param", "hw_id"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", default="results", help="results folder (default: results)")
    p.add_argument("--budget-s", type=float, default=420.0,
                   help="seconds for the whole command (default 420); the sweep stops starting "
                        "measurements when it runs out")
    p.add_argument("--log2-sizes", nargs="+", type=study.log2_size, default=DEFAULT_LOG2_SIZES,
                   help=f"sizes as powers of two (default {DEFAULT_LOG2_SIZES})")
    # Shorter windows than the study's defaults: about 4000 timings must fit the budget;
    # 20 ms still holds ~40 samples of the slowest 2^28 kernels and thousands of small ones.
    p.add_argument("--warmup-ms", type=float, default=5.0, help="do_bench warm-up (ms, default 5)")
    p.add_argument("--rep-ms", type=float, default=20.0, help="do_bench measurement window (ms, default 20)")
    p.add_argument("--skip-verify", action="store_true", help="skip step 1 (the study still checks each provider)")


def require_cuda() -> None:
    if not torch.cuda.is_available():
        built = f"CUDA {torch.version.cuda}" if torch.version.cuda else "no CUDA support"
        raise RuntimeError(
            f"gpu-check needs a CUDA GPU, and this machine has none usable "
            f"(torch {torch.__version__}, built with {built}). On a CPU machine time the kernels "
            f"with `python -m actbench kernels` or the Snakemake pipeline.")


def verify_kernels(results: str) -> tuple[int, int]:
    """Step 1: (checks passed, checks run); prints the failures."""
    from actbench.kernels.verify import verify

    start = time.monotonic()
    table = verify(device="cuda")
    write_study(table, "kernels_verify", results, key=VERIFY_KEY)
    failed = table[~table["passed"].astype(bool)]
    print(f"gpu-check: verification {len(table) - len(failed)}/{len(table)} checks passed "
          f"({time.monotonic() - start:.0f} s)", flush=True)
    if len(failed):
        print(failed.to_string(index=False), flush=True)
    return len(table) - len(failed), len(table)


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Triton vs the roofline and torch.compile at the largest size, per activation and dtype."""
    timed = df[(df["status"] == "ok") & df["mode"].isin(TARGET)]
    if timed.empty:
        return pd.DataFrame()
    top = timed["log2_numel"].max()
    timed = timed[timed["log2_numel"] == top]
    rows = []
    for (name, dtype), grp in timed.groupby(["activation", "dtype"], sort=False):
        if name == study.COPY:
            continue
        cell = grp.set_index(["provider", "mode"])
        row = {"activation": name, "dtype": dtype, "log2_n": top}

        def get(provider, mode, column):
            return cell[column].get((provider, mode), float("nan"))

        for mode, short in (("forward", "fwd"), ("backward", "bwd")):
            row[f"triton_{short}_%copy"] = 100 * get("triton", mode, "copy_fraction")
            row[f"compile_{short}_%copy"] = 100 * get("compile", mode, "copy_fraction")
            row[f"triton/compile_{short}"] = get("triton", mode, "median_s") / get("compile", mode, "median_s")
        if top >= TARGET_MIN_LOG2:
            met = [row[f"triton_{s}_%copy"] >= 100 * TARGET[m] for m, s in (("forward", "fwd"), ("backward", "bwd"))]
            row["target"] = "met" if all(met) else ("n/a" if pd.isna(row["triton_fwd_%copy"]) else "MISSED")
        rows.append(row)
    return pd.DataFrame(rows)


def run(args) -> int:
    start = time.monotonic()
    require_cuda()
    print(f"gpu-check on {torch.cuda.get_device_name(0)}: budget {args.budget_s:.0f} s", flush=True)
    passed = total = 0
    if not args.skip_verify:
        try:
            passed, total = verify_kernels(args.results)
        except Exception as exc:  # keep going: the study checks every provider itself
            print(f"gpu-check: verification could not run: {type(exc).__name__}: {exc}", flush=True)
            total = -1
    sweep = study.Sweep(
        activations=elementwise_names(), providers=available_providers("cuda"), modes=list(MODES), dtypes=DTYPES,
        log2_sizes=sorted(set(args.log2_sizes)), threads=[0], device="cuda",
        cuda=CudaSettings(warmup_ms=args.warmup_ms, rep_ms=args.rep_ms),
        deadline=start + args.budget_s - RESERVE_S,
    )
    written = {}

    def write(table: pd.DataFrame) -> None:
        written["path"] = write_study(table, study.NAME, args.results, key=study.KEY)

    runner = study.KernelSweep(sweep)
    df = runner.run(on_size_done=write)
    copy = df[(df["activation"] == study.COPY) & (df["log2_numel"] == df["log2_numel"].max())]
    print(f"\ngpu-check: wrote {written.get('path', 'nothing')} ({len(df)} rows, "
          f"{time.monotonic() - start:.0f} s{', CUT SHORT by the time budget' if runner.truncated else ''})")
    for _, r in copy.iterrows():
        print(f"  copy bandwidth {r['dtype']}, 2^{r['log2_numel']}: {r['copy_gbps']:.0f} GB/s")
    not_ok = df[(df["status"] != "ok") & (df["activation"] != study.COPY)]
    if len(not_ok):
        print(f"  {len(not_ok)} rows not timed; reasons: "
              + "; ".join(sorted(set(not_ok["status"].str.slice(0, 120))))[:2000])
    if total:
        print(f"  verification: {'not run' if total < 0 else f'{passed}/{total} checks passed'}")
    table = summary(df)
    print(f"\nTriton kernels at the largest size (targets: forward >= {TARGET['forward']:.0%}, "
          f"backward >= {TARGET['backward']:.0%} of copy bandwidth at >= 2^{TARGET_MIN_LOG2}):")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}") if len(table) else "  (nothing timed)")
    return 1 if (total > 0 and passed < total) else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="actbench gpu-check", description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except (ValueError, RuntimeError, OSError) as exc:
        print(f"actbench gpu-check: error: {exc}", file=sys.stderr)
        return 2
