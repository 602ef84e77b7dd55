"""PyTorch peer of bench/nn_bench.cpp: the same layers, models, shapes, dtype (float32), optimizer and data order."""
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


def mlp(hidden=(256, 256), activation=nn.ReLU, batch_norm=False, dropout=0.0):
    layers, width = [nn.Flatten()], 784
    for h in hidden:
        layers += [nn.Linear(width, h), *([nn.BatchNorm1d(h)] if batch_norm else []), activation(),
                   *([nn.Dropout(dropout)] if dropout else [])]
        width = h
    return nn.Sequential(*layers, nn.Linear(width, 10))


def lenet5():
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


def cifar_cnn():
    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU()]
    return nn.Sequential(*block(3, 32), *block(32, 32), nn.MaxPool2d(2), *block(32, 64), *block(64, 64),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 8 * 8, 512), nn.ReLU(), nn.Linear(512, 10))


class InMemoryData:
    """n random samples handed out in shuffled mini-batches, in nn_bench.cpp's order: epoch e visits,
    at position i, sample (7919 i + 1009 e) mod n."""

    def __init__(self, sample_shape, n, batch_size):
        self.images = torch.randn(n, *sample_shape)
        self.labels = torch.randint(0, 10, (n,))
        self.n, self.batch_size, self.step = n, batch_size, 0
        self.batches_per_epoch = -(-n // batch_size)

    def next(self):
        epoch, batch = divmod(self.step, self.batches_per_epoch)
        self.step += 1
        if batch == 0:
            self.order = (torch.arange(self.n) * 7919 + 1009 * epoch) % self.n
        index = self.order[batch * self.batch_size:(batch + 1) * self.batch_size]
        return self.images.index_select(0, index), self.labels.index_select(0, index)


def train(make, sample_shape, n, batch_size, epoch):
    """zero_grad, forward, cross-entropy, backward, Adam(1e-3); a whole epoch or one step per call."""
    def setup():
        model = make()
        data = InMemoryData(sample_shape, n, batch_size)
        adam = torch.optim.Adam(model.parameters(), lr=1e-3)

        def run():
            for _ in range(data.batches_per_epoch if epoch else 1):
                images, labels = data.next()
                adam.zero_grad()
                F.cross_entropy(model(images), labels).backward()
                adam.step()
        return run
    return setup


def inference(make, sample_shape):
    def setup():
        model = make().eval()
        x = torch.randn(1000, *sample_shape)

        def run():
            with torch.no_grad():
                model(x)
        return run
    return setup


DEEP_MLP_ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU,
                        "elu": nn.ELU, "gelu": nn.GELU, "silu": nn.SiLU}


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
    "w1_mlp/train_epoch60000/batch128": train(mlp, (784,), 60000, 128, epoch=True),
    "w1_mlp/inference/batch1000": inference(mlp, (784,)),
    **{f"w2_deep_mlp/{name}/batch128": train(lambda a=activation: mlp((1000,) * 5, a), (784,), 60000, 128, epoch=False)
       for name, activation in DEEP_MLP_ACTIVATIONS.items()},
    "w3_lenet5/train_step/batch64": train(lenet5, (1, 28, 28), 60000, 64, epoch=False),
    "w3_lenet5/inference/batch1000": inference(lenet5, (1, 28, 28)),
    "w4_cifar_cnn/train_step/batch128": train(cifar_cnn, (3, 32, 32), 10000, 128, epoch=False),
    "w5_mlp_bn_dropout/train_epoch60000/batch128": train(lambda: mlp(batch_norm=True, dropout=0.5), (784,), 60000, 128,
                                                         epoch=True),
}

if __name__ == "__main__":
    main(WORKLOADS)
