"""Importing actbench.kernels never fails; without triton or a device nothing is registered.

Each case runs in a fresh interpreter: the import-time decisions cannot be undone here.
"""

import os
import subprocess
import sys
import textwrap

import pytest


def _run(code, interpret):
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    if interpret:
        env["TRITON_INTERPRET"] = "1"
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


# Without triton, or with triton but neither CUDA nor the interpreter, the package imports,
# registers no triton implementation, and a kernel call says why it cannot run.
NOTHING_REGISTERED = """
    import torch
    import actbench.kernels as kernels
    from actbench import activations
    assert not kernels.available()
    assert "triton" not in activations.get("relu").implementations
    try:
        kernels.activation("relu", torch.zeros(3))
    except RuntimeError as err:
        print(err)
"""


@pytest.mark.parametrize("prelude, message", [
    pytest.param('import sys; sys.modules["triton"] = None  # `import triton` raises ImportError\n',
                 "triton cannot be imported", id="without-triton"),
    pytest.param("", "TRITON_INTERPRET=1", id="without-cuda-or-interpreter",
                 marks=pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the no-CUDA case")),
])
def test_import_registers_nothing_and_explains(prelude, message):
    out = _run(prelude + textwrap.dedent(NOTHING_REGISTERED), interpret=False)
    assert message in out

