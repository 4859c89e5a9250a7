"""Activations PyTorch lacks, added as the worked example of docs/custom-activation.md.

Each needs only this file's kernel pair plus its registry entry in
``actbench/activations.py``; the launch logic, the autograd Function, the module, the
tests and the verification pick them up from the two tables.
"""

import triton
import triton.language as tl

from actbench.kernels import _math
from actbench.kernels.ops import kernel_pair
from actbench.kernels.ops.exponential import elu_backward, elu_forward


# squared_relu: relu(x)^2 (Primer, So et al. 2021). NaN falls through x < 0 as NaN.
@triton.jit
def squared_relu_forward(x, p):
    r = tl.where(x < 0, 0.0, x)
    return r * r


@triton.jit
def squared_relu_backward(x, p):
    return 2.0 * tl.where(x < 0, 0.0, x)


# elu_learnable: ELU whose alpha p is learned. The forward and df/dx are ELU's; only
# the parameter gradient is new: d/dalpha = e^x - 1 for x <= 0, 0 above.
@triton.jit
def elu_alpha_grad(x, p):
    return tl.where(x > 0, 0.0, _math.expm1(x))


kernel_pair("squared_relu", squared_relu_forward, squared_relu_backward)
kernel_pair("elu_learnable", elu_forward, elu_backward, param="alpha", param_grad=elu_alpha_grad)
