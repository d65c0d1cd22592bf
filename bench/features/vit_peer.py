"""Peer for the feature-extraction benchmark: the original system's feature
extractor, a ViT-B/16 (CLS token, 768 values), on the CPU with PyTorch.
The weights are random (pretrained ones cannot be fetched here); the
compute is the same. Per image: PIL decode, RGB, resize to 224x224,
normalise, then a batched forward pass. Prints images/s as JSON.

usage: python3 vit_peer.py IMAGE_DIR N THREADS
"""
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn
from PIL import Image


class ViT(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, 768, 16, 16)
        self.cls = nn.Parameter(torch.zeros(1, 1, 768))
        self.pos = nn.Parameter(torch.randn(1, 197, 768) * 0.02)
        layer = nn.TransformerEncoderLayer(768, 12, 3072, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, 12)
        self.norm = nn.LayerNorm(768)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        return self.norm(self.encoder(x))[:, 0]


def main():
    img_dir, n, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    files = sorted(f for f in os.listdir(img_dir) if f.lower().endswith(".png"))[:n]
    model = ViT().eval()
    mean = np.array([0.485, 0.456, 0.406], np.float32)
    std = np.array([0.229, 0.224, 0.225], np.float32)
    with torch.inference_mode():
        model(torch.zeros(2, 3, 224, 224))  # warm-up
        t0, c0 = time.perf_counter(), time.process_time()
        out = []
        for i in range(0, len(files), 32):
            batch = []
            for f in files[i:i + 32]:
                im = Image.open(os.path.join(img_dir, f)).convert("RGB").resize((224, 224), Image.BILINEAR)
                a = (np.asarray(im, np.float32) / 255 - mean) / std
                batch.append(a.transpose(2, 0, 1))
            out.append(model(torch.from_numpy(np.stack(batch))))
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({"peer": "vit-b16-pytorch", "torch": torch.__version__, "threads": threads,
                      "images": len(files), "seconds": round(dt, 3), "images_per_s": round(len(files) / dt, 2),
                      "cpu_ms_per_image": round(cpu * 1000 / len(files), 2)}))


if __name__ == "__main__":
    main()
