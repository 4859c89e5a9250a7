"""The device registry and the providers' declarations: one entry each, everything derived."""

from __future__ import annotations

import argparse
import dataclasses
import re
from pathlib import Path

import pandas as pd
import pytest
import torch

from actbench import devices, hardware, providers, timing
from actbench.report import kernels as report
from actbench.studies import kernels as study
from actbench.studies.generate import schema

SRC = Path(__file__).resolve().parents[1] / "src" / "actbench"


@pytest.fixture
def second_gpu(monkeypatch):
    """A second GPU backend, added as one entry (CUDA itself switched off)."""
    fake = dataclasses.replace(devices.CUDA, name="fakegpu", label="Fake GPU", hw_prefix="gpu-fake-",
                               available=lambda: True, hardware_name=lambda: "Model 9 PCIe")
    monkeypatch.setitem(devices.DEVICES, "fakegpu", fake)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv("ACTBENCH_HW_ID", raising=False)
    return fake


def test_a_second_gpu_backend_is_one_entry(second_gpu):
    assert devices.accelerator() is second_gpu
    assert devices.resolve(devices.AUTO) == "fakegpu"
    assert hardware.hw_id() == "gpu-fake-model-9"
    assert devices.label_of(["cpu", "fakegpu"]) == "Fake GPU" and devices.any_gpu(["fakegpu"])
    with pytest.raises(ValueError, match=r"--device cuda: no CUDA GPU is visible \(torch.cuda.is_available\(\) "
                                         r"is False\); allowed here: cpu, fakegpu, auto"):
        devices.resolve("cuda")


def test_cpu_only_machine(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv("ACTBENCH_HW_ID", raising=False)
    assert devices.accelerator() is None and devices.resolve(devices.AUTO) == "cpu"
    assert hardware.hw_id().startswith(devices.CPU.hw_prefix)
    assert devices.label_of(["cpu"]) == "CPU" and not devices.any_gpu(["cpu"])
    with pytest.raises(RuntimeError, match="CUDA GPU timing requested but torch.cuda.is_available"):
        timing.time_fn(lambda: None, "cuda")
    with pytest.raises(ValueError, match="unknown device 'tpu'; allowed: cpu, cuda"):
        devices.resolve("tpu")


def test_the_device_entry_sets_the_sweep_defaults():
    for device in devices.DEVICES.values():  # an empty --log2-sizes means the device's sizes
        sizes = study.sizes_from_args(argparse.Namespace(log2_sizes=[], density="default"), device.name)
        assert sizes == sorted(device.log2_sizes)
    sweep = study.Sweep(activations=["relu"], providers=["eager"], modes=["forward"], dtypes=["float32"],
                        log2_sizes=[8], threads=[1, 2], device="cuda")
    assert sweep.threads == [0]  # no CPU thread counts on a GPU (the entry's threads=False)


def test_the_string_cuda_decides_nothing_outside_the_registry():
    """Only the device entry names CUDA; aot.py passes Triton's own backend name."""
    places = {}
    for path in SRC.rglob("*.py"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if '"cuda"' in line:
                places.setdefault(path.relative_to(SRC).as_posix(), []).append(n)
    assert set(places) <= {"devices.py", "kernels/aot.py"}, places


def test_providers_declare_where_they_run():
    assert providers.available_providers("cpu") == ["eager", "eager_out", "manual", "compile"]
    assert providers.available_providers("cuda") == list(providers.PROVIDERS)
    assert providers.PROVIDERS["triton"].devices == devices.TRITON_DEVICES == ("cuda",)
    assert providers.device_problem(["eager", "triton"], "cpu") == (
        "provider(s) triton cannot run on cpu (triton runs on cuda only); "
        "allowed on cpu: eager, eager_out, manual, compile")
    assert providers.device_problem(["triton"], "cuda") is None


def test_schema_quick_preset_and_report_columns_derive_from_the_providers():
    kernels = schema()["properties"]["kernels"]["properties"]
    assert kernels["providers"]["items"]["enum"] == list(providers.PROVIDERS)
    assert study.STUDY.param("providers").quick == ["eager", "eager_out", "manual"]  # run anywhere; compile is slow
    assert report.COST_COLUMNS == ["eager", "eager_out", "compile", "triton"]  # the page's columns, unchanged
    assert (report.TARGETED, report.COMPILED) == (["triton"], ["compile"])
    assert report.target_words() == "forward ≥ 90 %, backward ≥ 85 %"


def test_the_dry_run_check_follows_this_machines_device(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=re.escape("provider(s) triton cannot run on cpu, this machine's device")):
        study.check_machine({"providers": ["eager", "triton"]})
    study.check_machine({"providers": []})  # empty: every provider the device has
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    study.check_machine({"providers": ["eager", "triton"]})


def test_the_pages_target_table_applies_the_one_target_constant():
    def row(name, provider, mode, fraction, median):
        return {"activation": name, "provider": provider, "mode": mode, "dtype": "float32", "numel": 2**28,
                "status": "ok", "copy_fraction": fraction, "median_s": median}

    rows = [row("copy", "copy", "copy", 1.0, 1.0)]
    for name, fwd, bwd in (("relu", 0.95, 0.9), ("gelu", 0.95, 0.8)):
        rows += [row(name, "triton", "forward", fwd, 1.0), row(name, "triton", "backward", bwd, 2.0),
                 row(name, "compile", "forward", 0.9, 1.1), row(name, "compile", "backward", 0.9, 1.8)]
    table = report.gpu_target_table(pd.DataFrame(rows)).set_index("activation")
    assert list(table.columns) == ["dtype", "triton fwd % copy", "triton bwd % copy", "target met",
                                   "triton/compile fwd", "triton/compile bwd"]
    assert table.loc["relu", "target met"] and not table.loc["gelu", "target met"]  # backward below 85 %
    assert table.loc["relu", "triton/compile fwd"] == pytest.approx(1 / 1.1)
