#!/usr/bin/python3
"""optim_step.py: optimizer step micro benchmark, PyTorch side (twin: optim_step.lua).

Runs the nnlua twin, times the same steps in PyTorch 1.13 with 1 thread (default
single-tensor implementations, like nnlua's numbers), prints the table and, with --write,
replaces the <!-- optim:begin --> ... <!-- optim:end --> section of scripts/bench/RESULTS.md
(other sections are kept). Usage: /usr/bin/python3 scripts/bench/optim_step.py
[--nnlua build/nnlua] [--rounds 7] [--write]"""
import argparse
import datetime
import platform
import re
import statistics
import subprocess
import time

import torch

SHAPES = [(512, 784), (512,), (512, 512), (512,), (10, 512), (10,)]


def params():
    ps = []
    for s in SHAPES:
        p = (torch.randn(s) * 0.01).requires_grad_(True)
        p.grad = torch.randn(s)
        ps.append(p)
    return ps


def bench(opt, rounds):
    opt.step()
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            opt.step()
        if time.perf_counter() - t0 > 0.05:
            break
        n *= 2
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            opt.step()
        times.append((time.perf_counter() - t0) / n)
    return statistics.median(times)


def fmt(s):
    if s >= 1e-3:
        return "%.3g ms" % (s * 1e3)
    return "%.3g us" % (s * 1e6)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnlua", default="build/nnlua")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    out = subprocess.run([a.nnlua, "scripts/bench/optim_step.lua", str(a.rounds)], check=True,
                         capture_output=True, text=True).stdout
    nl = {k: float(v) for k, v in (line.split() for line in out.strip().splitlines())}
    pt = {
        "adam_mlp": bench(torch.optim.Adam(params(), lr=1e-3), a.rounds),
        "sgd_momentum_mlp": bench(torch.optim.SGD(params(), lr=0.01, momentum=0.9), a.rounds),
    }
    rows = ["| workload | nnlua | PyTorch 1 thr | ratio (PyTorch / nnlua) |", "|---|---|---|---|"]
    for k in pt:
        rows.append("| %s | %s | %s | %.2fx |" % (k, fmt(nl[k]), fmt(pt[k]), pt[k] / nl[k]))
    section = "\n".join([
        "<!-- optim:begin -->",
        "### Optimizer steps (`scripts/bench/optim_step.lua` vs `optim_step.py`)",
        "",
        "Measured %s on %s; one step over the parameters of a 784-512-512-10 MLP (float32, "
        "669,706 values), both sides 1 thread, medians of per-step times (PyTorch's default "
        "single-tensor path)." % (datetime.date.today().isoformat(), platform.machine()),
        "",
    ] + rows + ["<!-- optim:end -->"])
    print(section)
    if a.write:
        path = "scripts/bench/RESULTS.md"
        text = open(path).read()
        pat = re.compile(r"<!-- optim:begin -->.*?<!-- optim:end -->", re.S)
        text = pat.sub(lambda _: section, text) if pat.search(text) else text.rstrip("\n") + "\n\n" + section + "\n"
        open(path, "w").write(text)


if __name__ == "__main__":
    main()
