# autograd per-op overhead in PyTorch (1 thread): the same chain as autograd_chain.lua.
import sys, time, torch
torch.set_num_threads(1)
rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
N = 1000
x = torch.rand(4, requires_grad=True)
def once():
    y = x
    for i in range(1, N + 1):
        y = y * 1.0001 if i % 2 == 0 else y + 0.001
    y.sum().backward()
    x.grad = None
once()
ts = []
for _ in range(rounds):
    t0 = time.process_time(); once(); ts.append(time.process_time() - t0)
ts.sort()
print("autograd_chain pytorch: %.3f us/op (median of %d rounds, %d ops forward+backward)" % (ts[(rounds - 1) // 2] / N * 1e6, rounds, N))
