"""PyTorch peer of bench/core_bench.cpp: the same workloads, shapes and dtype (float32)."""
import torch

from peer import main

LARGE = 16 << 20
WORKLOADS = {}


def matmul(n, transpose_a=False, transpose_b=False):
    def setup():
        a, b = torch.randn(n, n), torch.randn(n, n)
        a, b = (a.t() if transpose_a else a), (b.t() if transpose_b else b)
        return lambda: a @ b
    return setup


def binary_add(n):
    def setup():
        a, b = torch.randn(n), torch.randn(n)
        return lambda: a + b
    return setup


def sum_all(n):
    def setup():
        a = torch.randn(n)
        return lambda: a.sum()
    return setup


for size in (256, 512, 1024):
    WORKLOADS[f"matmul/{size}"] = matmul(size)
WORKLOADS["matmul_at_b/512"] = matmul(512, transpose_a=True)
WORKLOADS["matmul_a_bt/512"] = matmul(512, transpose_b=True)
WORKLOADS["add/16M"] = binary_add(LARGE)
WORKLOADS["sum/16M"] = sum_all(LARGE)
WORKLOADS["add/100"] = binary_add(100)

if __name__ == "__main__":
    main(WORKLOADS)
