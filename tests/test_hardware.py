import re

import pytest

from actbench import hardware


def test_fingerprint_has_the_interpretation_fields():
    fp = hardware.fingerprint()
    for key in ("cpu_model", "logical_cores", "torch_threads", "ram_bytes", "os", "python_version",
                "torch_version", "numpy_version", "project_commit"):
        assert key in fp, key
    assert fp["logical_cores"] >= 1


def test_hw_id_is_stable_and_readable(monkeypatch):
    monkeypatch.delenv("ACTBENCH_HW_ID", raising=False)
    first, second = hardware.hw_id(), hardware.hw_id()
    assert first == second
    assert re.fullmatch(r"(cpu|gpu)-[a-z0-9-]+", first)


def test_hw_id_override_is_validated(monkeypatch):
    monkeypatch.setenv("ACTBENCH_HW_ID", "cpu-other-4c")
    assert hardware.hw_id() == "cpu-other-4c"
    monkeypatch.setenv("ACTBENCH_HW_ID", "Bad Id/..")
    with pytest.raises(ValueError, match="not a valid hardware id"):
        hardware.hw_id()


@pytest.mark.parametrize("model, expected", [
    ("AMD EPYC 7763 64-Core Processor", "amd-epyc-7763"),
    ("Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz", "intel-xeon-platinum-8480"),
])
def test_slug(model, expected):
    assert hardware._slug(model) == expected
