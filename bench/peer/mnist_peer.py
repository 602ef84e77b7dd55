"""PyTorch peer of bench/mnist_bench.cpp (W7): wall time to first reach 97% MNIST test accuracy with
the MLP 784-256-256-10 (ReLU), Adam(1e-3), cross-entropy, batches of 128 reshuffled each epoch,
evaluating the whole test set every 100 steps. Reads the IDX files under $ACTLAB_DATA/mnist."""
import gzip
import os
import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from peer import main

BATCH, EVALUATE_EVERY, TARGET_ACCURACY, MAX_EPOCHS = 128, 100, 0.97, 20


def load(prefix):
    folder = Path(os.environ.get("ACTLAB_DATA", "")) / "mnist"
    if not (folder / f"{prefix}-images-idx3-ubyte.gz").exists():
        sys.exit(f"MNIST not found under {folder}: set ACTLAB_DATA to the datasets folder")
    images = gzip.decompress((folder / f"{prefix}-images-idx3-ubyte.gz").read_bytes())[16:]
    labels = gzip.decompress((folder / f"{prefix}-labels-idx1-ubyte.gz").read_bytes())[8:]
    images = torch.frombuffer(bytearray(images), dtype=torch.uint8).view(-1, 784).float() / 255
    return images, torch.frombuffer(bytearray(labels), dtype=torch.uint8).long()


def accuracy(model, images, labels):
    model.eval()
    with torch.no_grad():
        correct = sum((model(x).argmax(1) == y).sum().item() for x, y in zip(images.split(1000), labels.split(1000)))
    model.train()
    return correct / len(labels)


def time_to_accuracy():
    train_images, train_labels = load("train")
    test_images, test_labels = load("t10k")

    def run():
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
        adam = torch.optim.Adam(model.parameters(), lr=1e-3)
        step = 0
        for _ in range(MAX_EPOCHS):
            for index in torch.randperm(len(train_labels)).split(BATCH):
                adam.zero_grad()
                F.cross_entropy(model(train_images[index]), train_labels[index]).backward()
                adam.step()
                step += 1
                if step % EVALUATE_EVERY == 0 and accuracy(model, test_images, test_labels) >= TARGET_ACCURACY:
                    return step
        raise RuntimeError(f"{MAX_EPOCHS} epochs without reaching 97% test accuracy")
    return run


WORKLOADS = {"w7_mnist_mlp/time_to_97pct": time_to_accuracy}

if __name__ == "__main__":
    main(WORKLOADS)
