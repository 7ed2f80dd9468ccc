# gemm_rates.py: float32 matmul rates (GFLOP/s), PyTorch side (twin: gemm_rates.lua).
#   python3 scripts/bench/gemm_rates.py [THREADS] [ROUNDS]
import sys
import time

import torch

if len(sys.argv) > 1:
    torch.set_num_threads(int(sys.argv[1]))
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
torch.manual_seed(0)
for M, K, N in [(64, 784, 512), (64, 512, 512), (1024, 1024, 1024), (6, 75, 784), (16, 150, 100)]:
    a, b, c = torch.randn(M, K), torch.randn(K, N), torch.empty(M, N)
    flops = 2 * M * K * N
    n = max(1, int(0.2 * 100e9 / flops))
    torch.matmul(a, b, out=c)
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            torch.matmul(a, b, out=c)
        best = min(best, (time.perf_counter() - t0) / n)
    print("%dx%dx%d %.1f" % (M, K, N, flops / best / 1e9))
