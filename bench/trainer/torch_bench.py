"""PyTorch CPU peer for the trainer throughput benchmark.

Trains the DESIGN.md autoencoder (832 -> 256,128,64,32 -> mirror, ReLU,
Dropout 0.1, MSE, Adam 1e-3, grad-norm clip 1.0, batch 32) on the same
float32 matrix the Go benchmark uses and prints samples per second.
Usage: python3 torch_bench.py DATA.f32 N DIM EPOCHS THREADS
"""
import sys
import time

import numpy as np
import torch
from torch import nn

path, n, dim, epochs, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)
torch.manual_seed(42)
x = torch.from_numpy(np.fromfile(path, dtype=np.float32).reshape(n, dim))

hidden = [256, 128, 64, 32]
layers, prev = [], dim
for h in hidden:
    layers += [nn.Linear(prev, h), nn.ReLU(), nn.Dropout(0.1)]
    prev = h
for h in list(reversed(hidden[:-1])):
    layers += [nn.Linear(prev, h), nn.ReLU(), nn.Dropout(0.1)]
    prev = h
layers.append(nn.Linear(prev, dim))
model = nn.Sequential(*layers)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.MSELoss()

def epoch(limit=None):
    model.train()
    perm = torch.randperm(n)
    for i in range(0, n if limit is None else min(n, limit * 32), 32):
        b = x[perm[i:i + 32]]
        opt.zero_grad()
        loss = loss_fn(model(b), b)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

epoch(limit=20)  # warm-up: 20 batches
t, c = time.perf_counter(), time.process_time()
for _ in range(epochs):
    epoch()
dt, cpu = time.perf_counter() - t, time.process_time() - c
print(f"torch samples_per_sec={n * epochs / dt:.1f} samples_per_cpu_sec={n * epochs / cpu:.1f} threads={threads} n={n} epochs={epochs}")
