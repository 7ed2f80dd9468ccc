# tensor_ops.py: the tensor-library micro benchmarks, PyTorch side (twin: tensor_ops.lua).
# Prints one line per workload: "name seconds_per_call" (median over rounds).
# Usage: /usr/bin/python3 scripts/bench/tensor_ops.py [rounds] [threads]
import sys, time, torch

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
if len(sys.argv) > 2:
    torch.set_num_threads(int(sys.argv[2]))
torch.manual_seed(0)

def bench(name, fn, target_s=0.05):
    fn()
    n, t0 = 1, time.perf_counter()
    while True:
        for _ in range(n): fn()
        if time.perf_counter() - t0 > target_s: break
        n, t0 = n * 2, time.perf_counter()
    times = []
    for _ in range(rounds):
        s = time.perf_counter()
        for _ in range(n): fn()
        times.append((time.perf_counter() - s) / n)
    times.sort()
    print("%s %.9g" % (name, times[(rounds + 1) // 2 - 1]), flush=True)

small_a, small_b = torch.rand(1000), torch.rand(1000)
big_a, big_b = torch.rand(10000000), torch.rand(10000000)
tiny_a, tiny_b = torch.rand(4), torch.rand(4)
sq = torch.rand(1000, 1000)
logits = torch.randn(64, 1000)
x, w = torch.randn(64, 784), torch.randn(784, 512)
m1, m2 = torch.randn(1024, 1024), torch.randn(1024, 1024)

bench("add_4", lambda: tiny_a + tiny_b)
bench("add_1e3", lambda: small_a + small_b)
bench("mul_1e3", lambda: small_a * small_b)
bench("exp_1e3", lambda: small_a.exp())
bench("add_1e7", lambda: big_a + big_b)
bench("mul_1e7", lambda: big_a * big_b)
bench("exp_1e7", lambda: big_a.exp())
bench("sum_dim1_1000x1000", lambda: sq.sum(0))
bench("sum_dim2_1000x1000", lambda: sq.sum(1))
bench("softmax_64x1000", lambda: logits.softmax(1))
bench("matmul_64x784x512", lambda: x.matmul(w))
bench("matmul_1024", lambda: m1.matmul(m2), 0.3)
