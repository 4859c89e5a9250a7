"""Study `training_step`: the time of one optimizer step per activation, and the share of
that step spent in the activation.

Models (each hidden activation is its own registry module, e.g. nn.GELU):

* ``mlp``             the tutorial's Experiment 1: 784-256-128-10, batch 128, Adam(1e-3),
                      cross-entropy;
* ``transformer_ffn`` a transformer feed-forward block, Linear(512, 2048) -> activation ->
                      Linear(2048, 512), on ``--tokens`` tokens, Adam(1e-3), MSE;
* ``resnet18_32px``   ResNet-18 for 32x32 images (CIFAR layout: 3x3 stem, no max-pool),
                      batch ``--image-batch``, Adam(1e-3), cross-entropy;
* ``efficientnet_b0`` EfficientNet-B0's layout (MBConv blocks with depthwise convolutions
                      and squeeze-and-excitation) for 32x32 images (stride-1 stem), same
                      batch, optimizer and loss. Every activation of the network is the one
                      under test; the excitation gate stays a sigmoid, as in the original.

One step = zero_grad, forward, loss, backward, optimizer.step, timed like the kernels
(actbench.timing: torch.utils.benchmark on CPU with an explicit thread count,
triton.testing.do_bench on CUDA) after two untimed warm-up steps (Adam's state is
allocated on the first). Every model's steps are timed in ``--rounds`` interleaved
rounds (timing.interleaved: every activation once per round, the order rotated), and
the ratios are taken within a round, so the machine's drift cancels; the report gives
their geometric mean with a paired 95 % interval.

Share of the step spent in the activation: the same step is timed with every activation
replaced by the identity (``activation = "identity"`` rows), and
``activation_share = 1 - t_identity / t_activation``: the fraction of the step the
activation adds (its forward, its backward and the memory its saved tensors take).

Upsert key: (model, activation, threads, round, hw_id); ``threads`` is 0 on CUDA.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Callable

import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F

from actbench import activations, devices
from actbench.models import count_parameters, mlp
from actbench.progress import progress
from actbench.results import write_study
from actbench.studies.kernels import ACTIVATIONS, THREADS, all_cores, thread_counts
from actbench.studies.unit import Param, Study
from actbench.timing import CpuSettings, CudaSettings, interleaved, time_fn

NAME = "training_step"
KEY = ["model", "activation", "threads", "round", "hw_id"]
IDENTITY = "identity"
BASELINES = ("relu", "gelu")


# --- ResNet-18 for 32x32 inputs ------------------------------------------------------------
class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, act: Callable[[], nn.Module]):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.act1 = act()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.act2 = act()
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.act1(self.bn1(self.conv1(x)))
        return self.act2(self.bn2(self.conv2(y)) + self.shortcut(x))


def resnet18_32px(act: Callable[[], nn.Module], num_classes: int = 10) -> nn.Module:
    layers: list[nn.Module] = [nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), act()]
    cin = 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        layers += [BasicBlock(cin, cout, stride, act), BasicBlock(cout, cout, 1, act)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, num_classes)]
    return nn.Sequential(*layers)


# --- EfficientNet-B0 for 32x32 inputs ------------------------------------------------------
class MBConv(nn.Module):
    """Inverted residual: 1x1 expand, depthwise kxk, squeeze-and-excitation, 1x1 project."""

    def __init__(self, cin: int, cout: int, expand: int, kernel: int, stride: int, act: Callable[[], nn.Module]):
        super().__init__()
        mid = cin * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers += [nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), act()]
        layers += [nn.Conv2d(mid, mid, kernel, stride, kernel // 2, groups=mid, bias=False), nn.BatchNorm2d(mid), act()]
        self.body = nn.Sequential(*layers)
        squeezed = max(1, cin // 4)  # SE ratio 0.25 of the block's input width, as in the paper
        self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(mid, squeezed, 1), act(),
                                nn.Conv2d(squeezed, mid, 1), nn.Sigmoid())
        self.project = nn.Sequential(nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        h = self.body(x)
        y = self.project(h * self.se(h))
        return x + y if self.residual else y


# (expansion, output channels, repeats, first stride, kernel) of EfficientNet-B0's seven stages
EFFICIENTNET_B0_STAGES = ((1, 16, 1, 1, 3), (6, 24, 2, 2, 3), (6, 40, 2, 2, 5), (6, 80, 3, 2, 3),
                          (6, 112, 3, 1, 5), (6, 192, 4, 2, 5), (6, 320, 1, 1, 3))


def efficientnet_b0_32px(act: Callable[[], nn.Module], num_classes: int = 10) -> nn.Module:
    layers: list[nn.Module] = [nn.Conv2d(3, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), act()]
    cin = 32
    for expand, cout, repeats, stride, kernel in EFFICIENTNET_B0_STAGES:
        for i in range(repeats):
            layers.append(MBConv(cin, cout, expand, kernel, stride if i == 0 else 1, act))
            cin = cout
    layers += [nn.Conv2d(cin, 1280, 1, bias=False), nn.BatchNorm2d(1280), act(),
               nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1280, num_classes)]
    return nn.Sequential(*layers)


# --- the models: builder(activation name or None) and a batch maker -------------------------
@dataclass(frozen=True)
class Model:
    description: str
    build: Callable[[str | None, "argparse.Namespace"], nn.Module]
    batch: Callable[["argparse.Namespace", torch.Generator], tuple[torch.Tensor, torch.Tensor]]
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    batch_size: Callable[["argparse.Namespace"], int]


def _act_factory(name: str | None) -> Callable[[], nn.Module]:
    return nn.Identity if name is None else activations.get(name).module


def image_model(description: str, builder: Callable[[Callable[[], nn.Module]], nn.Module]) -> Model:
    """A 10-class image classifier on random 32x32 RGB batches of --image-batch images."""
    return Model(
        description,
        lambda act, a: builder(_act_factory(act)),
        lambda a, g: (torch.randn(a.image_batch, 3, 32, 32, generator=g),
                      torch.randint(0, 10, (a.image_batch,), generator=g)),
        F.cross_entropy, lambda a: a.image_batch)


MODELS = {
    "mlp": Model(
        "Experiment 1 MLP 784-256-128-10",
        lambda act, a: mlp([784, 256, 128, 10], act),
        lambda a, g: (torch.randn(a.mlp_batch, 784, generator=g), torch.randint(0, 10, (a.mlp_batch,), generator=g)),
        F.cross_entropy, lambda a: a.mlp_batch),
    "transformer_ffn": Model(
        "transformer FFN 512-2048-512",
        lambda act, a: mlp([512, 2048, 512], act),
        lambda a, g: (torch.randn(a.tokens, 512, generator=g), torch.randn(a.tokens, 512, generator=g)),
        F.mse_loss, lambda a: a.tokens),
    "resnet18_32px": image_model("ResNet-18, 32x32 inputs", resnet18_32px),
    "efficientnet_b0": image_model("EfficientNet-B0 layout, 32x32 inputs", efficientnet_b0_32px),
}


def step_fn(model: nn.Module, spec: Model, args, device) -> Callable[[], None]:
    gen = torch.Generator().manual_seed(args.seed)
    x, y = (t.to(device) for t in spec.batch(args, gen))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        spec.loss(model(x), y).backward()
        opt.step()

    return step


def measure(args) -> pd.DataFrame:
    """Every activation's optimizer step, timed in interleaved rounds per model and thread
    count (one row per round): ratios taken within a round cancel the machine's drift."""
    device = devices.resolve(args.device)
    if args.min_run_time <= 0 or args.max_run_time < args.min_run_time:
        raise ValueError(f"need 0 < --min-run-time <= --max-run-time, got {args.min_run_time} and {args.max_run_time}")
    names = list(dict.fromkeys([*BASELINES, *(args.activations or activations.elementwise_names())]))
    threads_list = (list(dict.fromkeys(thread_counts(args.threads) or [all_cores()]))
                    if devices.get(device).threads else [0])
    cpu = CpuSettings(min_run_time=args.min_run_time, max_run_time=args.max_run_time)
    # do_bench per round: the same window as the CPU's least run time (several steps of the
    # largest model), a short warm-up since every step was already run twice
    cuda = CudaSettings(warmup_ms=5, rep_ms=1000 * args.min_run_time)
    rows = []
    total = len(args.models) * len(threads_list) * args.rounds
    with progress(total, desc="training_step", unit="round") as bar:
        for model_name in args.models:
            spec = MODELS[model_name]
            for threads in threads_list:
                bar.set_postfix_str(model_name)
                steps, params = {}, {}
                for act in [IDENTITY, *names]:
                    torch.manual_seed(args.seed)
                    model = spec.build(None if act == IDENTITY else act, args).to(device)
                    steps[act], params[act] = step_fn(model, spec, args, device), count_parameters(model)
                before = torch.get_num_threads()
                if threads:
                    torch.set_num_threads(threads)
                try:
                    for step in steps.values():  # warm-up: Adam state, allocator
                        step()
                        step()
                    measured = interleaved(steps, args.rounds,
                                           lambda fn: time_fn(fn, device, threads or 1, cpu, cuda),
                                           on_round=lambda r: bar.update())
                finally:
                    torch.set_num_threads(before)
                for act, rnd, timing in measured:
                    rows.append({"model": model_name, "model_description": spec.description, "activation": act,
                                 "round": rnd, "threads": threads, "device": device,
                                 "batch_size": spec.batch_size(args), "parameters": params[act], **timing.as_row()})
                del steps
    return add_ratios(pd.DataFrame(rows))


def add_ratios(df: pd.DataFrame) -> pd.DataFrame:
    """Same-round ratios to ReLU's and GELU's step and the activation's share of the step
    (identity replacement)."""
    group = ["model", "threads", "round"]
    out = df.copy()
    for ref in (IDENTITY, *BASELINES):
        ref_t = df[df["activation"] == ref][group + ["median_s"]].rename(columns={"median_s": f"{ref}_median_s"})
        out = out.merge(ref_t, on=group, how="left")
    for ref in BASELINES:
        out[f"step_time_ratio_vs_{ref}"] = out["median_s"] / out[f"{ref}_median_s"]
    out["activation_time_s"] = out["median_s"] - out[f"{IDENTITY}_median_s"]
    out["activation_share"] = out["activation_time_s"] / out["median_s"]
    out["share_method"] = "identity replacement"
    return out


def run(args):
    start = time.monotonic()
    df = measure(args)
    path = write_study(df, NAME, args.results, key=KEY)
    noisy = int(df["noisy"].sum())
    print(f"training_step: {len(df)} rows ({noisy} noisy: IQR/median > 10%), "
          f"{time.monotonic() - start:.0f} s; wrote {path}")
    return path


STUDY = Study(
    name=NAME,
    summary="The time of one optimizer step per activation in four models, and the share of that step spent "
            "in the activation (identity replacement), from interleaved rounds; it runs alone.",
    key=KEY,
    params=(
        Param("models", list(MODELS), "models whose step is timed", quick=["mlp", "transformer_ffn"],
              choices=tuple(MODELS), unique=True),
        Param("activations", [], "registry names (empty: every elementwise registry entry; "
              + " and ".join(BASELINES) + " are always added)", quick=["relu", "gelu"], **ACTIVATIONS),
        Param("threads", ["all"], "CPU thread counts, integers or all (every core); ignored on CUDA", quick=[1],
              **THREADS),
        Param("mlp_batch", 128, "batch of the MLP step (Experiment 1's 128)", quick=16, minimum=1),
        Param("tokens", 2048, "tokens per transformer-FFN step", quick=16, minimum=1),
        Param("image_batch", 16, "image batch of the ResNet-18 and EfficientNet-B0 steps (32x32 images)", quick=2,
              minimum=1),
        Param("rounds", 7, "interleaved rounds: every activation's step is timed once per round (at least 2 for "
              "an interval)", quick=2, minimum=2),
        Param("min_run_time", 0.1, "CPU: seconds of samples per timing in a round, at least", quick=0.005,
              exclusive_minimum=0),
        Param("max_run_time", 0.5, "CPU: seconds per timing in a round, at most", quick=0.02, exclusive_minimum=0),
        Param("device", devices.AUTO, devices.AUTO_HELP, choices=devices.CHOICES,
              in_config=False, selects=True),  # the machine's folder says which device ran
        Param("seed", 0, "seed of the weights and the random batches", minimum=0, in_config=False),
    ),
    run=run,
    timing=lambda job: True,
    report="actbench.report.training_step",
    page="kernels.md#training-step-cost",
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The study's command line (``actbench.gpu_check`` builds its training_step stage from it)."""
    STUDY.add_arguments(p)
