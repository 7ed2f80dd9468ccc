"""Numeric parity of the main job (scripts/train_fashion_mnist.lua) with PyTorch, the PyTorch side.

Builds train_fashion_mnist.py's CNN with torch.manual_seed(SEED), draws the epochs' shuffles
with torch.randperm, trains it (SGD lr 0.01 momentum 0.9, CrossEntropyLoss, batch 64, the last
partial batch kept) and writes into DIR/ref.safetensors: the initial weights ("init.<name>"),
the order of the training images (0-based, all epochs), the loss of every step, the final
weights ("final.<name>") and the test accuracy. scripts/bench/parity_fashion.lua then trains
nnlua's twin from the same weights on the same batches and compares.

    /usr/bin/python3 scripts/bench/parity_fashion.py --out DIR [--seed 1] [--epochs 2] [--steps N]
        [--threads 1] [--no-shuffle] [--perturb EPS --compare REFDIR]

The control for float32 drift: --perturb EPS trains PyTorch itself from the initial weights
times (1 + EPS * N(0, 1)) (the same init is saved, EPS=1e-7 is about one float32 rounding) and
--compare REFDIR prints the same loss statistics as parity_fashion.lua against REFDIR's run.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_fashion_mnist import FashionMNIST, Net  # noqa: E402

ST = {np.float32: "F32", np.float64: "F64", np.int64: "I64", np.uint8: "U8"}


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, a in tensors:
        b = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": ST[a.dtype.type], "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        raw = f.read()
    np_dt = {v: k for k, v in ST.items()}
    return {k: np.frombuffer(raw[v["data_offsets"][0]:v["data_offsets"][1]], dtype=np_dt[v["dtype"]]).reshape(v["shape"])
            for k, v in header.items() if k != "__metadata__"}


def batch(ds, idx):
    # train_fashion_mnist.py's per-sample ToTensor + Normalize, on a whole batch (same float32 ops)
    return ds.data[idx].unsqueeze(1).float().div(255).sub(0.5).div(0.5), ds.targets[idx]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--steps", type=int, default=None, help="stop after N steps")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-shuffle", dest="shuffle", action="store_false")
    ap.add_argument("--perturb", type=float, default=0.0)
    ap.add_argument("--compare", default=None)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    train, test = FashionMNIST(a.data, True), FashionMNIST(a.data, False)
    net = Net()
    init = [("init." + k, v.detach().numpy().copy()) for k, v in net.state_dict().items()]
    if a.perturb:
        g = torch.Generator().manual_seed(12345)  # not the global one: the order stays the same
        with torch.no_grad():
            for p in net.parameters():
                p.mul_(1 + a.perturb * torch.randn(p.shape, generator=g))
    n = len(train)
    order = torch.cat([torch.randperm(n) if a.shuffle else torch.arange(n) for _ in range(a.epochs)])
    criterion = nn.CrossEntropyLoss()
    opt = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    nb = (n + a.batch_size - 1) // a.batch_size
    losses = []
    for e in range(a.epochs):
        for b in range(nb):
            if a.steps is not None and len(losses) >= a.steps:
                break
            idx = order[e * n + b * a.batch_size: e * n + min((b + 1) * a.batch_size, n)]
            x, y = batch(train, idx)
            opt.zero_grad()
            loss = criterion(net(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    correct = 0
    with torch.no_grad():
        for s in range(0, len(test), 1000):
            x, y = batch(test, torch.arange(s, min(s + 1000, len(test))))
            correct += int((net(x).argmax(1) == y).sum())
    acc = 100.0 * correct / len(test)
    final = [("final." + k, v.detach().numpy().copy()) for k, v in net.state_dict().items()]
    write_safetensors(os.path.join(a.out, "ref.safetensors"), init + final + [
        ("order", order.numpy().astype(np.int64)), ("losses", np.array(losses, dtype=np.float64)),
        ("accuracy", np.array([acc], dtype=np.float64)),
        ("config", np.array([a.epochs, len(losses), a.batch_size], dtype=np.int64))])
    print(f"PyTorch {torch.__version__}: seed {a.seed}, {len(losses)} steps, last loss {losses[-1]:.4f}, "
          f"test accuracy {acc:.2f} %")
    if a.compare:
        other = read_safetensors(os.path.join(a.compare, "ref.safetensors"))
        rl = other["losses"]
        rel = np.abs(np.array(losses) - rl[:len(losses)]) / np.abs(rl[:len(losses)])
        for upto in (10, 100, 300, 1000, len(losses)):
            if upto <= len(losses):
                print(f"loss, steps 1..{upto:4d}: max rel. diff {rel[:upto].max():.2e} (step {rel[:upto].argmax() + 1}), "
                      f"mean rel. diff {rel[:upto].mean():.2e}")
        for k in sorted(k for k in other if k.startswith("final.")):
            r, g = other[k], dict(final)[k]
            print(f"final {k[6:]:12s} max|diff|/max|ref| {np.abs(g - r).max() / np.abs(r).max():.2e}, "
                  f"||diff||/||ref|| {np.linalg.norm(g - r) / np.linalg.norm(r):.2e}")
        print(f"test accuracy: this run {acc:.2f} %, {a.compare} {other['accuracy'][0]:.2f} % "
              f"(difference {acc - other['accuracy'][0]:+.2f} points)")


if __name__ == "__main__":
    main()
