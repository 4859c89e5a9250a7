"""`python -m actbench gpu-check`: the whole prepared run for a CUDA machine, in one command.

Stages, in this order, each in a Python process of its own (a CUDA error in one cannot
poison the next, and a stage past its deadline is killed while what it wrote stays):

1. ``verify``: every Triton kernel against the float64 registry reference
   (``actbench.kernels.verify``) -> ``kernels_verify.parquet``, after each activation.
2. ``launch_config``: the kernels' BLOCK/num_warps (``_template.launch_config``) against
   ``_template.LAUNCH_ALTERNATIVES``: relu and gelu, forward and backward, float32 and
   bfloat16, 2^28 elements, with a copy of the same bytes -> ``kernels_launch_config.parquet``.
3. ``training_step``: the training-step study on the device, one model at a time (MLP,
   transformer FFN, ResNet-18, EfficientNet-B0 layouts) -> ``training_step.parquet``.
4. ``kernels``: the kernels study: every provider, float32/bfloat16/float16, 2^12..2^28,
   ``triton.testing.do_bench`` with L2 flush, the copy in the same run, largest size
   first -> ``kernels.parquet``, after each size.

Each stage writes ``<results>/<hw_id>/`` as it goes; after each stage those files are
copied to ``<out>/<hw_id>/`` (``--out``, default ``$OUT``: the device tool's return
folder). A summary comes last: stages, verification, the Triton kernels against the
copy bandwidth and torch.compile, the launch configurations, the training steps.

Time: ``--budget-s`` (default 420 s, inside the 8 minutes a run on the H200 may take)
covers everything. ``verify``, ``launch_config`` and ``training_step`` have at most
``STAGE_MAX_S`` each; ``kernels`` gets the rest less ``RESERVE_S`` for the summary. A
stage starts no measurement after its deadline and is killed ``GRACE_S`` later.

It needs only torch, triton, numpy, pandas and pyarrow (no Snakemake, tqdm, PyYAML,
jsonschema or plotting), so a bare GPU machine runs it from a checkout with
``PYTHONPATH=src python -m actbench gpu-check``.

``--rehearse`` runs the same flow on the CPU: tiny sizes, a few activations, Triton's
interpreter (TRITON_INTERPRET=1) for the kernels, CPU timing instead of do_bench, and
results under ``build/gpu-rehearsal/results`` unless ``--results`` says otherwise.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import torch

from actbench import devices
from actbench.activations import elementwise_names
from actbench.cliutil import activation_list, writable_folder
from actbench.providers import PROVIDERS, available_providers
from actbench.results import write_study
from actbench.studies import kernels as study
from actbench.studies import training_step
from actbench.timing import (MODES, ROOFLINE_TARGET_MIN_LOG2, ROOFLINE_TARGETS, CpuSettings, CudaSettings,
                             bytes_moved, time_copy, time_fn)

STAGES = ("verify", "launch_config", "training_step", "kernels")
STAGE_MAX_S = {"verify": 60.0, "launch_config": 40.0, "training_step": 110.0}  # kernels: the rest
RESERVE_S = 15.0  # kept back for copying the results and the summary
GRACE_S = 20.0  # after a stage's deadline, before it is killed (a compile or a write in flight)
MIN_STAGE_S = 10.0  # a stage with less time than this is skipped
STUDY_FILES = {"verify": "kernels_verify", "launch_config": "kernels_launch_config",
               "training_step": training_step.NAME, "kernels": study.NAME}
OUT_FILE_LIMIT = 16 * 2**20  # the device tool returns files up to 16 MiB

# The device this prepared run is for; its sizes and dtypes are the kernels study's defaults.
GPU = devices.CUDA
DEFAULT_LOG2_SIZES = list(GPU.log2_sizes)
DTYPES = list(GPU.dtypes)
TARGET = ROOFLINE_TARGETS
TARGET_MIN_LOG2 = ROOFLINE_TARGET_MIN_LOG2
# The summary's columns: the providers held to the targets, and the other compiling ones
# they are compared with (triton and compile today).
TARGETED = [n for n, p in PROVIDERS.items() if p.roofline_target]
COMPILED = [n for n, p in PROVIDERS.items() if p.compiles and not p.roofline_target]
VERIFY_KEY = ["activation", "dtype", "numel", "direction", "param", "hw_id"]
LAUNCH_KEY = ["activation", "dtype", "numel", "mode", "block", "num_warps", "hw_id"]
LAUNCH_ACTIVATIONS = ["relu", "gelu"]  # the cheapest and a transcendental one
LAUNCH_DTYPES = ["float32", "bfloat16"]

# The rehearsal: small enough to run in well under a minute on two cores.
REHEARSAL = {
    "activations": ["relu", "gelu", "swish_beta"],  # no parameter, transcendental, learnable parameter
    # torch.compile on the CPU builds C++ with gcc (~20 s for the first graph) and says
    # nothing about the GPU's Inductor/Triton path; --providers adds it back.
    "providers": ["eager", "eager_out", "manual", "triton"],
    "log2_sizes": [10, 12],
    "launch_log2": 10,
    "verify_sizes": (1, 127, 1025),  # the interpreter runs one program at a time
    "training_step": ["--mlp-batch", "8", "--tokens", "16", "--image-batch", "2", "--rounds", "2",
                      "--min-run-time", "0.01", "--max-run-time", "0.05", "--threads", "1"],
    "cpu": CpuSettings(min_run_time=0.002, max_run_time=0.01),
    "results": "build/gpu-rehearsal/results",
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", default=None, type=writable_folder,
                   help="results folder (default: results; build/gpu-rehearsal/results with --rehearse)")
    p.add_argument("--out", default=os.environ.get("OUT") or None,
                   help="copy the results here after each stage, as OUT/<hw_id>/<study>.parquet "
                        "(default: $OUT when set, else no copy)")
    p.add_argument("--budget-s", type=float, default=None,
                   help="seconds for the whole command (default 420; 240 with --rehearse)")
    p.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES),
                   help=f"stages to run, in the fixed order {' '.join(STAGES)} (default: all)")
    p.add_argument("--rehearse", action="store_true",
                   help="the same flow on the CPU: tiny sizes, Triton's interpreter, CPU timing")
    p.add_argument("--activations", nargs="+", type=activation_list, default=None,
                   help="registry names (default: every elementwise entry; a few with --rehearse)")
    p.add_argument("--dtypes", nargs="+", choices=DTYPES, default=DTYPES,
                   help=f"dtypes of the verify, launch_config and kernels stages (default: {' '.join(DTYPES)})")
    p.add_argument("--providers", nargs="+", choices=list(study.PROVIDERS), default=None,
                   help="kernels stage: providers (default: every one the device has)")
    p.add_argument("--models", nargs="+", choices=list(training_step.MODELS), default=list(training_step.MODELS),
                   help="training_step stage: models (default: all)")
    p.add_argument("--log2-sizes", nargs="+", type=study.log2_size, default=None,
                   help=f"kernels stage: sizes as powers of two (default {DEFAULT_LOG2_SIZES})")
    # Shorter windows than the study's defaults: about 5000 timings must fit the budget;
    # 20 ms still holds ~40 samples of the slowest 2^28 kernels and thousands of small ones.
    p.add_argument("--warmup-ms", type=float, default=5.0, help="do_bench warm-up (ms, default 5)")
    p.add_argument("--rep-ms", type=float, default=20.0, help="do_bench measurement window (ms, default 20)")
    # Set by the parent process for each stage it starts.
    p.add_argument("--stage", choices=STAGES, default=None, help=argparse.SUPPRESS)
    p.add_argument("--deadline", type=float, default=None, help=argparse.SUPPRESS)


def require_gpu() -> None:
    if not GPU.available():
        built = f"CUDA {torch.version.cuda}" if torch.version.cuda else "no CUDA support"
        raise RuntimeError(
            f"gpu-check needs a {GPU.label}, and this machine has none usable "
            f"(torch {torch.__version__}, built with {built}). On a CPU machine time the kernels "
            f"with `python -m actbench kernels` or the Snakemake pipeline; "
            f"`python -m actbench gpu-check --rehearse` rehearses this command on the CPU.")


def finish_defaults(args) -> None:
    """Fill the defaults that depend on --rehearse."""
    rehearse = args.rehearse
    args.device = devices.CPU.name if rehearse else GPU.name
    if args.results is None:
        args.results = REHEARSAL["results"] if rehearse else "results"
    if args.budget_s is None:
        args.budget_s = 240.0 if rehearse else 420.0
    if args.budget_s <= 0:
        raise ValueError(f"--budget-s must be > 0, got {args.budget_s}")
    if args.activations is None:
        args.activations = REHEARSAL["activations"] if rehearse else elementwise_names()
    if args.log2_sizes is None:
        args.log2_sizes = REHEARSAL["log2_sizes"] if rehearse else DEFAULT_LOG2_SIZES
    if args.providers is None:
        args.providers = REHEARSAL["providers"] if rehearse else available_providers(GPU.name)


# --- the stages (each runs in its own process) -----------------------------------------
def _out_of_time(deadline: float, what: str) -> bool:
    if time.monotonic() > deadline:
        print(f"gpu-check: {what}: deadline reached, CUT SHORT", flush=True)
        return True
    return False


def stage_verify(args, deadline: float) -> int:
    from actbench.kernels.ops import KERNELS
    from actbench.kernels.verify import DEFAULT_SIZES, verify

    sizes = REHEARSAL["verify_sizes"] if args.rehearse else DEFAULT_SIZES
    names = [n for n in args.activations if n in KERNELS]
    tables = []
    for name in names:  # one activation at a time: a deadline keeps what was checked
        if _out_of_time(deadline, f"verify after {len(tables)}/{len(names)} activations"):
            break
        tables.append(verify(device=args.device, dtypes=args.dtypes, sizes=sizes, names=[name]))
        write_study(pd.concat(tables, ignore_index=True), STUDY_FILES["verify"], args.results, key=VERIFY_KEY)
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=["passed"])
    failed = table[~table["passed"].astype(bool)]
    print(f"gpu-check: verify: {len(table) - len(failed)}/{len(table)} checks passed", flush=True)
    if len(failed):
        print(failed.to_string(index=False), flush=True)
    return 1 if len(failed) or len(tables) < len(names) else 0


def stage_launch_config(args, deadline: float) -> int:
    """Time the chosen BLOCK/num_warps and the alternatives, each against the same copy."""
    from actbench.kernels import _template as T
    from actbench.kernels.ops import KERNELS

    log2 = REHEARSAL["launch_log2"] if args.rehearse else 28
    cpu, cuda = _timing_settings(args)
    rows = []
    for dtype_name in [d for d in LAUNCH_DTYPES if d in args.dtypes]:
        dtype = study.DTYPES[dtype_name]
        gen = torch.Generator(device=args.device).manual_seed(log2)
        x = torch.randn(2**log2, generator=gen, device=args.device, dtype=dtype)
        g = torch.randn(2**log2, generator=gen, device=args.device, dtype=dtype)
        copy = time_copy(x, 1, cpu, cuda)
        chosen = T.launch_config(dtype)
        for config in dict.fromkeys([chosen, *T.LAUNCH_ALTERNATIVES]):
            for name in LAUNCH_ACTIVATIONS:
                pair = KERNELS[name]
                calls = {"forward": lambda: T.forward(pair, x, None, config=config),
                         "backward": lambda: T.backward(pair, x, None, g, False, config=config)}
                for mode, fn in calls.items():
                    if _out_of_time(deadline, f"launch_config after {len(rows)} timings"):
                        return _write_launch(rows, args, complete=False)
                    timing = time_fn(fn, args.device, 1, cpu, cuda)
                    rows.append({"activation": name, "dtype": dtype_name, "numel": x.numel(), "mode": mode,
                                 "block": config[0], "num_warps": config[1], "chosen": config == chosen,
                                 "elements_per_thread": config[0] // (32 * config[1]),
                                 "bytes_moved": bytes_moved(mode, x.numel(), x.element_size()),
                                 "copy_median_s": copy.median_s, "device": args.device, **timing.as_row()})
        del x, g
    return _write_launch(rows, args, complete=True)


def _write_launch(rows: list[dict], args, complete: bool) -> int:
    """Add the bandwidths, write the rows; the exit code says whether every timing was made."""
    if not rows:
        return 1
    df = pd.DataFrame(rows)
    df["gbps"] = df["bytes_moved"] / df["median_s"] / 1e9
    element_size = df["dtype"].map(lambda d: study.DTYPES[d].itemsize)
    df["copy_gbps"] = 2 * df["numel"] * element_size / df["copy_median_s"] / 1e9
    df["copy_fraction"] = df["gbps"] / df["copy_gbps"]
    write_study(df, STUDY_FILES["launch_config"], args.results, key=LAUNCH_KEY)
    print(f"gpu-check: launch_config: {len(df)} timings", flush=True)
    return 0 if complete else 1


def stage_training_step(args, deadline: float) -> int:
    """The training-step study, one model per call, so a deadline keeps the finished models."""
    parser = argparse.ArgumentParser()
    training_step.add_arguments(parser)
    longest, done = 0.0, 0
    for model in args.models:
        # a model starts only if it likely fits: 1.5x the slowest so far
        if _out_of_time(deadline - 1.5 * longest, f"training_step after {done}/{len(args.models)} models"):
            break
        start = time.monotonic()
        # 5 interleaved rounds of 30 ms per step timing: 4 models x 18 activations fit the stage
        flags = ["--models", model, "--device", args.device, "--activations", *args.activations,
                 "--rounds", "5", "--min-run-time", "0.03", "--max-run-time", "0.1"]
        study_args = parser.parse_args(flags + (REHEARSAL["training_step"] if args.rehearse else []))
        df = training_step.measure(study_args)
        path = write_study(df, training_step.NAME, args.results, key=training_step.KEY)
        longest = max(longest, time.monotonic() - start)
        done += 1
        print(f"gpu-check: training_step: {model}: {len(df)} rows in {time.monotonic() - start:.0f} s -> {path}",
              flush=True)
    return 0 if done == len(args.models) else 1


def stage_kernels(args, deadline: float) -> int:
    cpu, cuda = _timing_settings(args)
    providers = [p for p in args.providers if args.device in study.PROVIDERS[p].devices]
    sweep = study.Sweep(activations=list(args.activations), providers=providers, modes=list(MODES),
                        dtypes=list(args.dtypes), log2_sizes=sorted(set(args.log2_sizes)),
                        threads=[1 if args.rehearse else 0], device=args.device, cpu=cpu, cuda=cuda,
                        deadline=deadline)
    if args.rehearse:
        # providers.py lists triton for the devices Triton compiles for only (timing the
        # interpreter means nothing); the rehearsal times it anyway, to run its code path
        # end to end.
        sweep.providers += [p for p in args.providers if p not in providers]
    written, start = {}, time.monotonic()

    def write(table: pd.DataFrame) -> None:
        written["path"] = write_study(table, study.NAME, args.results, key=study.KEY)
        print(f"gpu-check: kernels: down to 2^{table['log2_numel'].min()}: {len(table)} rows written "
              f"({time.monotonic() - start:.0f} s)", flush=True)

    runner = study.KernelSweep(sweep)
    df = runner.run(on_size_done=write)
    not_ok = df[(df["status"] != "ok") & (df["activation"] != study.COPY)] if len(df) else df
    print(f"gpu-check: kernels: {len(df)} rows -> {written.get('path', 'nothing written')}"
          f"{'; CUT SHORT by the deadline' if runner.truncated else ''}", flush=True)
    if len(not_ok):
        print(f"gpu-check: kernels: {len(not_ok)} rows not timed; reasons: "
              + "; ".join(sorted(set(not_ok["status"].str.slice(0, 160))))[:3000], flush=True)
    return 1 if runner.truncated or "path" not in written else 0


def _timing_settings(args) -> tuple[CpuSettings, CudaSettings]:
    """(CPU settings: the rehearsal's, CUDA settings: do_bench's windows from the command line)."""
    if args.warmup_ms <= 0 or args.rep_ms <= 0:
        raise ValueError(f"--warmup-ms and --rep-ms must be > 0, got {args.warmup_ms}, {args.rep_ms}")
    return REHEARSAL["cpu"], CudaSettings(warmup_ms=args.warmup_ms, rep_ms=args.rep_ms)


STAGE_FUNCTIONS = {"verify": stage_verify, "launch_config": stage_launch_config,
                   "training_step": stage_training_step, "kernels": stage_kernels}


def run_stage(args) -> int:
    """In the stage's own process: the parent's wall-clock deadline -> a monotonic one."""
    deadline = time.monotonic() + (args.deadline - time.time())
    return STAGE_FUNCTIONS[args.stage](args, deadline)


# --- the parent: stages in order, results out, summary last --------------------------------
def stage_command(stage: str, deadline: float, argv: list[str]) -> list[str]:
    return [sys.executable, "-m", "actbench", "gpu-check", *argv, "--stage", stage, "--deadline", f"{deadline:.3f}"]


def run_child(cmd: list[str], deadline: float, env: dict) -> tuple[str, float]:
    """Run a stage's process; ("ok" | "failed (exit N)" | "killed ...", seconds). It is
    killed GRACE_S past its (wall-clock) deadline, with every process it started."""
    start = time.time()
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)  # its own group: torch.compile's workers too
    try:
        rc = proc.wait(timeout=max(deadline - time.time(), 0) + GRACE_S)
        status = "ok" if rc == 0 else f"failed (exit {rc})"
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        status = f"killed {GRACE_S:.0f} s past its deadline"
    return status, time.time() - start


def copy_out(results: str, hw: str, out: str | None) -> list[str]:
    """Copy this machine's gpu-check files to OUT/<hw_id>/ (the device tool's limits: 16 MiB a file)."""
    if not out:
        return []
    copied = []
    target = Path(out) / hw
    target.mkdir(parents=True, exist_ok=True)
    for name in STUDY_FILES.values():
        source = Path(results) / hw / f"{name}.parquet"
        if not source.exists():
            continue
        if source.stat().st_size > OUT_FILE_LIMIT:
            print(f"gpu-check: {source} is {source.stat().st_size / 2**20:.1f} MiB, over the 16 MiB a "
                  f"returned file may have; not copied (commit it from {source.parent} instead)", flush=True)
            continue
        shutil.copyfile(source, target / source.name)
        copied.append(str(target / source.name))
    return copied


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Triton (the TARGETED providers) vs the roofline and torch.compile (COMPILED) at the
    largest size, per activation and dtype."""
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

        passes = (("forward", "fwd"), ("backward", "bwd"))
        for mode, short in passes:
            for provider in TARGETED + COMPILED:
                row[f"{provider}_{short}_%copy"] = 100 * get(provider, mode, "copy_fraction")
            for ours in TARGETED:
                for other in COMPILED:
                    row[f"{ours}/{other}_{short}"] = get(ours, mode, "median_s") / get(other, mode, "median_s")
        if top >= TARGET_MIN_LOG2:
            met = [row[f"{p}_{s}_%copy"] >= 100 * TARGET[m] for p in TARGETED for m, s in passes]
            measured = all(not pd.isna(row[f"{p}_fwd_%copy"]) for p in TARGETED)
            row["target"] = "met" if all(met) else ("MISSED" if measured else "n/a")
        rows.append(row)
    return pd.DataFrame(rows)


def launch_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per dtype, activation and mode: % of copy bandwidth for each BLOCK/num_warps, and the chosen one."""
    df = df.assign(config=df["block"].astype(str) + "/" + df["num_warps"].astype(str))
    table = df.pivot_table(index=["dtype", "activation", "mode"], columns="config", values="copy_fraction",
                           aggfunc="first").mul(100)
    chosen = df[df["chosen"].astype(bool)].groupby(["dtype", "activation", "mode"])["config"].first()
    return table.assign(chosen=chosen).reset_index()


def training_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Step time relative to ReLU, per activation and model; the first row is ReLU's step in ms."""
    # one row per interleaved round: the median over rounds
    ratios = df.pivot_table(index="activation", columns="model", values="step_time_ratio_vs_relu", aggfunc="median")
    relu_ms = (df[df["activation"] == "relu"].groupby("model")["median_s"].median().mul(1e3)
               .rename("relu step (ms)"))
    return pd.concat([relu_ms.to_frame().T, ratios])


def _read(results: str, hw: str, stage: str) -> pd.DataFrame | None:
    path = Path(results) / hw / f"{STUDY_FILES[stage]}.parquet"
    return pd.read_parquet(path) if path.exists() else None


def report(results: str, hw: str, stages: list[tuple[str, str, float]], out: str | None) -> str:
    """The summary text (also written to OUT/summary.txt)."""
    lines = ["", "=" * 30 + " gpu-check summary " + "=" * 30, f"machine {hw}; results in {Path(results) / hw}"]
    lines += [f"  stage {name:14s} {status:36s} {seconds:6.0f} s" for name, status, seconds in stages]
    verify = _read(results, hw, "verify")
    if verify is not None:
        failed = verify[~verify["passed"].astype(bool)]
        lines.append(f"\nverification: {len(verify) - len(failed)}/{len(verify)} checks passed")
        if len(failed):
            columns = ["activation", "dtype", "numel", "direction", "rel_l2", "max_abs"]
            lines.append(failed[columns].to_string(index=False))
    launch = _read(results, hw, "launch_config")
    if launch is not None:
        lines.append("\nlaunch configurations: % of copy bandwidth per BLOCK/num_warps (chosen: launch_config's):")
        lines.append(launch_summary(launch).to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    steps = _read(results, hw, "training_step")
    if steps is not None:
        lines.append("\ntraining step, time relative to ReLU (first row: ReLU's step in ms):")
        lines.append(training_summary(steps).to_string(float_format=lambda v: f"{v:.2f}"))
    kernels = _read(results, hw, "kernels")
    if kernels is not None:
        top = kernels[(kernels["activation"] == study.COPY) & (kernels["log2_numel"] == kernels["log2_numel"].max())]
        lines.append("")
        lines += [f"copy bandwidth {r['dtype']}, 2^{r['log2_numel']}: {r['copy_gbps']:.0f} GB/s"
                  for _, r in top.iterrows()]
        table = summary(kernels)
        lines.append(f"Triton kernels at the largest size (targets: forward >= {TARGET['forward']:.0%}, backward >= "
                     f"{TARGET['backward']:.0%} of copy bandwidth at >= 2^{TARGET_MIN_LOG2}):")
        lines.append(table.to_string(index=False, float_format=lambda v: f"{v:.2f}") if len(table) else
                     "  (nothing timed)")
    text = "\n".join(lines)
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "summary.txt").write_text(text + "\n")
    return text


def run(args, argv: list[str]) -> int:
    if not args.rehearse:
        require_gpu()
    from actbench.hardware import fingerprint, hw_id

    start = time.time()
    end = start + args.budget_s
    hw, fp = hw_id(), fingerprint()
    print(f"gpu-check{' --rehearse (CPU)' if args.rehearse else ''} on {fp.get('gpu_name', fp['cpu_model'])} ({hw}): "
          f"python {fp['python_version']}, torch {fp['torch_version']}, triton {fp['triton_version']}, "
          f"budget {args.budget_s:.0f} s, stages {' '.join(args.stages)}", flush=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if not sys.stderr.isatty():  # a log, not a terminal: no progress bars (the stages print lines)
        env.setdefault("TQDM_DISABLE", "1")
    if args.rehearse:
        env["TRITON_INTERPRET"] = "1"  # before the stage imports the kernels
    done = []
    for stage in [s for s in STAGES if s in args.stages]:
        now = time.time()
        deadline = min(now + STAGE_MAX_S.get(stage, math.inf), end - RESERVE_S)
        if deadline - now < MIN_STAGE_S:
            done.append((stage, "skipped: no time left", 0.0))
            continue
        print(f"\ngpu-check: stage {stage} (until +{deadline - start:.0f} s)", flush=True)
        status, seconds = run_child(stage_command(stage, deadline, argv), deadline, env)
        done.append((stage, status, seconds))
        copied = copy_out(args.results, hw, args.out)
        print(f"gpu-check: stage {stage}: {status} in {seconds:.0f} s"
              f"{'; copied to ' + args.out if copied else ''}", flush=True)
    text = report(args.results, hw, done, args.out)
    print(text + f"\n\ngpu-check: {time.time() - start:.0f} s in all", flush=True)
    return 0 if all(status == "ok" for _, status, _ in done) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="actbench gpu-check", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        finish_defaults(args)
        if args.stage:
            return run_stage(args)
        return run(args, argv)
    except (ValueError, RuntimeError, OSError) as exc:
        print(f"actbench gpu-check: error: {exc}", file=sys.stderr)
        return 2
