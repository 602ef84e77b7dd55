"""PyTorch peer of bench/nn_bench.cpp: the same layers, shapes, dtype (float32), optimizer and data."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from peer import main


def layer(make, shape, backward):
    def setup():
        module = make()
        x = torch.randn(*shape, requires_grad=backward)

        def run():
            y = module(x)
            if backward:
                y.backward(torch.ones_like(y))
        return run
    return setup


def adam_step():
    model = mlp()
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)
    return adam.step


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))


def lenet5():
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


def cifar_cnn():
    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU()]
    return nn.Sequential(*block(3, 32), *block(32, 32), nn.MaxPool2d(2), *block(32, 64), *block(64, 64),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 8 * 8, 512), nn.ReLU(), nn.Linear(512, 10))


def train_step(make, shape):
    def setup():
        model = make()
        x = torch.randn(*shape)
        labels = torch.randint(0, 10, (shape[0],))
        adam = torch.optim.Adam(model.parameters(), lr=1e-3)

        def run():
            adam.zero_grad()
            F.cross_entropy(model(x), labels).backward()
            adam.step()
        return run
    return setup


WORKLOADS = {
    "linear_forward/128x784x256": layer(lambda: nn.Linear(784, 256), (128, 784), False),
    "linear_backward/128x784x256": layer(lambda: nn.Linear(784, 256), (128, 784), True),
    "conv2d_forward/32x32x32x32_k3": layer(lambda: nn.Conv2d(32, 32, 3, padding=1), (32, 32, 32, 32), False),
    "conv2d_backward/32x32x32x32_k3": layer(lambda: nn.Conv2d(32, 32, 3, padding=1), (32, 32, 32, 32), True),
    "maxpool2d_forward/64x32x32x32": layer(lambda: nn.MaxPool2d(2), (64, 32, 32, 32), False),
    "maxpool2d_backward/64x32x32x32": layer(lambda: nn.MaxPool2d(2), (64, 32, 32, 32), True),
    "batchnorm2d_forward/64x32x32x32": layer(lambda: nn.BatchNorm2d(32), (64, 32, 32, 32), False),
    "batchnorm2d_backward/64x32x32x32": layer(lambda: nn.BatchNorm2d(32), (64, 32, 32, 32), True),
    "adam_step/mlp_784_256_256_10": adam_step,
    "train_step/mlp_784_256_256_10/batch128": train_step(mlp, (128, 784)),
    "train_step/lenet5/batch64": train_step(lenet5, (64, 1, 28, 28)),
    "train_step/cifar_cnn/batch32": train_step(cifar_cnn, (32, 3, 32, 32)),
}

if __name__ == "__main__":
    main(WORKLOADS)
