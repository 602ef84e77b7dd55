"""PyTorch peer of bench/activations_bench.cpp: the same activations on the same [256, 256, 256]
float32 tensor, forward (without autograd) and forward+backward."""
import torch
import torch.nn.functional as F

from peer import main

SHAPE = (256, 256, 256)
RATIONAL_A = torch.tensor([0.0380201644, 0.906490488, 3.16384406, 3.83883820, 1.79431694, 0.291027975])
RATIONAL_B = torch.tensor([3.97394499, 1.95954933, 2.98213965, 0.0664747733])


def rational(x, a, b):
    p = a[0] + x * (a[1] + x * (a[2] + x * (a[3] + x * (a[4] + x * a[5]))))
    s = x * (b[0] + x * (b[1] + x * (b[2] + x * b[3])))
    return p / (1 + s.abs())


# name -> (function of x, learnable parameters)
def activations():
    prelu_w = torch.full((256,), 0.25, requires_grad=True)
    beta = torch.ones(1, requires_grad=True)
    a = RATIONAL_A.clone().requires_grad_()
    b = RATIONAL_B.clone().requires_grad_()
    return {
        "identity": (lambda x: x, []),
        "sigmoid": (torch.sigmoid, []),
        "tanh": (torch.tanh, []),
        "relu": (F.relu, []),
        "leaky_relu": (lambda x: F.leaky_relu(x, 0.01), []),
        "elu": (F.elu, []),
        "selu": (F.selu, []),
        "celu": (F.celu, []),
        "gelu": (F.gelu, []),
        "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), []),
        "silu": (F.silu, []),
        "mish": (F.mish, []),
        "softplus": (F.softplus, []),
        "softsign": (F.softsign, []),
        "hardtanh": (F.hardtanh, []),
        "relu6": (F.relu6, []),
        "hardsigmoid": (F.hardsigmoid, []),
        "hardswish": (F.hardswish, []),
        "logsigmoid": (F.logsigmoid, []),
        "softmax": (lambda x: F.softmax(x, dim=-1), []),
        "log_softmax": (lambda x: F.log_softmax(x, dim=-1), []),
        "rrelu": (lambda x: F.rrelu(x, training=True), []),
        "prelu": (lambda x: F.prelu(x, prelu_w), [prelu_w]),
        "learnable_swish": (lambda x: x * torch.sigmoid(beta * x), [beta]),
        "rational": (lambda x: rational(x, a, b), [a, b]),
    }


def forward(name):
    def setup():
        f, _ = activations()[name]
        x = torch.randn(SHAPE)

        def run():
            with torch.no_grad():
                f(x)
        return run
    return setup


def forward_backward(name):
    def setup():
        f, params = activations()[name]
        x = torch.randn(SHAPE).requires_grad_()
        g = torch.randn(SHAPE)

        def run():
            x.grad = None
            for p in params:
                p.grad = None
            f(x).backward(g)
        return run
    return setup


WORKLOADS = {f"{kind.__name__}/{name}": kind(name) for name in activations() for kind in (forward, forward_backward)}

if __name__ == "__main__":
    main(WORKLOADS)
