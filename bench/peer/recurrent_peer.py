"""PyTorch peer of bench/recurrent_bench.cpp: one training step of a 128-unit RNN/LSTM/GRU on a
[64, 28, 28] batch-first float32 input, Linear(128, 10) on the last output, cross-entropy,
backward and SGD(0.01)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from peer import main

BATCH, STEPS, INPUTS, HIDDEN = 64, 28, 28, 128


def train_step(kind):
    def setup():
        layer = getattr(nn, kind)(INPUTS, HIDDEN, batch_first=True)
        head = nn.Linear(HIDDEN, 10)
        x = torch.randn(BATCH, STEPS, INPUTS)
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
    main({f"{kind.lower()}/train_step/batch{BATCH}_t{STEPS}_i{INPUTS}_h{HIDDEN}": train_step(kind)
          for kind in ("RNN", "LSTM", "GRU")})
