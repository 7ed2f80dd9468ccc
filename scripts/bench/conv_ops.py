#!/usr/bin/python3
# PyTorch reference for scripts/bench/conv_ops.lua (conv2d forward+backward, float32, CPU).
import time, torch
import torch.nn.functional as F
cases = [("3->6 5x5 on 4x3x32x32", (4, 3, 32, 32), (6, 3, 5, 5), 0, 50),
         ("3->6 5x5 on 128x3x32x32", (128, 3, 32, 32), (6, 3, 5, 5), 0, 5),
         ("64->64 3x3 on 16x64x32x32", (16, 64, 32, 32), (64, 64, 3, 3), 1, 3)]
for name, xs, ws, p, n in cases:
    x, w, b = torch.randn(xs, requires_grad=True), torch.randn(ws, requires_grad=True), torch.randn(ws[0], requires_grad=True)
    def step():
        y = F.conv2d(x, w, b, 1, p)
        y.backward(torch.ones_like(y))
    step()
    best = float("inf")  # the fastest of 7 rounds, as conv_ops.lua
    for _ in range(7):
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        best = min(best, (time.perf_counter() - t0) / n)
    print("%-28s %10.3f ms" % (name, best * 1e3))
