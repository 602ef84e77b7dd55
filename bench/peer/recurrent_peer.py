"""PyTorch peer of bench/recurrent_bench.cpp: one training step of a 128-unit RNN/LSTM/GRU on a
batch-first float32 input of 64 sequences, row by row ([64, 28, 28], as seq-mnist) and pixel by
pixel ([64, 784, 1], as pixel-mnist), Linear(128, 10) on the last output, cross-entropy, backward
and SGD(0.01)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from peer import main

BATCH, HIDDEN = 64, 128
SHAPES = ((28, 28), (784, 1))  # (steps, inputs)


def train_step(kind, steps, inputs):
    def setup():
        layer = getattr(nn, kind)(inputs, HIDDEN, batch_first=True)
        head = nn.Linear(HIDDEN, 10)
        x = torch.randn(BATCH, steps, inputs)
        labels = torch.randint(0, 10, (BATCH,))
        sgd = torch.optim.SGD([*layer.parameters(), *head.parameters()], lr=0.01)

        def run():
            sgd.zero_grad()
            out, _ = layer(x)
            loss = F.cross_entropy(head(out[:, -1]), labels)
            loss.backward()
            sgd.step()
        return run
    return setup


if __name__ == "__main__":
    main({f"{kind.lower()}/train_step/batch{BATCH}_t{steps}_i{inputs}_h{HIDDEN}": train_step(kind, steps, inputs)
          for steps, inputs in SHAPES for kind in ("RNN", "LSTM", "GRU")})
