# report_workloads.py: turns bench.sh's raw lines ("name seconds peak_rss_kb", one per process)
# into the <!-- workloads:begin --> ... <!-- workloads:end --> table of RESULTS.md.
#   /usr/bin/python3 scripts/bench/report_workloads.py OUT_DIR RESULTS.md
import os, platform, re, statistics, sys, time

out, results = sys.argv[1], sys.argv[2]
ORDER = ["xor", "lenet4", "lenet128", "mlp64", "mlp64adam", "resnet18", "startup"]
TARGET = {"xor": 10, "lenet4": 3, "lenet128": 1.5, "mlp64": 1.0, "resnet18": 1.0, "startup": 50}
DESC = {
    "xor": "seed 001 XOR net, 4 samples, SGD",
    "lenet4": "seed 004 CIFAR LeNet, batch 4, SGD+momentum",
    "lenet128": "seed 004 CIFAR LeNet, batch 128, SGD+momentum",
    "mlp64": "seed 002 784-512-512-10 MLP, batch 64, SGD",
    "mlp64adam": "seed 002 MLP, batch 64, Adam",
    "resnet18": "seed 004 resnet18 (1000 classes), batch 8 of 3x64x64, SGD+momentum",
    "startup": "`nnlua -e ''` vs `python3 -c 'import torch'`",
}

def load(fname):
    d = {}
    path = os.path.join(out, fname)
    if not os.path.exists(path):
        return d
    for line in open(path):
        p = line.split()
        if len(p) >= 3:
            t, rss, cpu = d.setdefault(p[0], ([], [], []))
            t.append(float(p[1])); rss.append(int(p[2]))
            if len(p) >= 4: cpu.append(float(p[3]))
    return {k: (statistics.median(t), max(rss), len(t), statistics.median(cpu) if cpu else None)
            for k, (t, rss, cpu) in d.items()}

def fmt_t(s):
    if s >= 1: return "%.3g s" % s
    if s >= 1e-3: return "%.3g ms" % (s * 1e3)
    return "%.3g us" % (s * 1e6)

def rd(name):
    p = os.path.join(out, name)
    return open(p).read().split()[:3] if os.path.exists(p) else ["?"]

nl, n2, t1, t2 = load("nnlua.txt"), load("nnlua2.txt"), load("torch1.txt"), load("torch2.txt")
rows, misses = [], []
for w in ORDER:
    if w not in nl or w not in t1:
        continue
    a, b = nl[w], t1[w]
    c, a2 = t2.get(w), n2.get(w)
    best = min(b[0], c[0]) if c else b[0]
    mine = min(a[0], a2[0]) if a2 else a[0]
    ratio = best / mine
    rss_t = max(b[1], c[1]) if c else b[1]
    tgt = TARGET.get(w)
    ok = "-" if tgt is None else ("yes" if ratio >= tgt else "**no**")
    if tgt is not None and ratio < tgt:
        misses.append(w)
    rss_n = max(a[1], a2[1]) if a2 else a[1]
    rss_ok = "yes" if rss_n * 2 <= rss_t else "**no**"
    cpu_ratio = "%.2fx" % (b[3] / a[3]) if a[3] and b[3] else "-"
    rows.append("| %s | %s | %s | %s | %s | %.2fx | %s | %s | %s | %.0f MB | %.0f MB | %s |" % (
        w, fmt_t(a[0]), fmt_t(a2[0]) if a2 else "-", fmt_t(b[0]), fmt_t(c[0]) if c else "-", ratio,
        cpu_ratio, ("%gx" % tgt) if tgt else "-", ok, rss_n / 1024, rss_t / 1024, rss_ok))

rounds = max((v[2] for v in nl.values()), default=0)
lines = [
    "<!-- workloads:begin -->",
    "### Seed workloads, whole training steps (`scripts/bench/bench.sh`: `workloads.lua` vs `workloads.py`)",
    "",
    "Measured %s on %s (%d cores), OPENBLAS_CORETYPE=%s; load average before: %s, after: %s "
    "(the machine is shared: compare ratios, not absolute times). One step = zero_grad, forward, "
    "loss, backward, optimizer step on a fixed synthetic batch; each cell is the median over %d "
    "processes of each process's median step time (3 timed rounds after warm-up); nnlua and "
    "PyTorch processes alternate. Both run at 1 and 2 threads and the ratio takes "
    "each side's faster count. Peak RSS = VmHWM of the whole process (the larger "
    "of each side's two runs). startup = median wall time of the whole process (fork to exit). CPU-time "
    "ratio = PyTorch 1-thread process CPU time per step / nnlua's (both one thread; less "
    "sensitive to other jobs than wall time). `met` judges the wall-time ratio." % (
        time.strftime("%Y-%m-%d"), platform.machine(), os.cpu_count() or 0,
        os.environ.get("OPENBLAS_CORETYPE") or "(unset)", " ".join(rd("load_before.txt")),
        " ".join(rd("load_after.txt")), rounds),
    "",
    "| workload | nnlua 1 thr | nnlua 2 thr | PyTorch 1 thr | PyTorch 2 thr | ratio (best PyTorch / best nnlua) | CPU-time ratio (1 thr) | target | met | RSS nnlua | RSS PyTorch | RSS <= half |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
] + rows + [
    "",
    "Workloads: " + "; ".join("%s = %s" % (w, DESC[w]) for w in ORDER) + ".",
    "The end-to-end Fashion-MNIST training job is measured separately (section `fashion` below).",
    ("Targets missed in this run: %s (analysis in the `workloads-notes` section)." % ", ".join(misses)
     if misses else "Every target is met in this run (what changed: the `workloads-notes` section)."),
    "<!-- workloads:end -->",
]
section = "\n".join(lines)
text = open(results).read() if os.path.exists(results) else "# Benchmark results\n"
pat = re.compile(r"<!-- workloads:begin -->.*?<!-- workloads:end -->", re.S)
text = pat.sub(lambda m: section, text) if pat.search(text) else text.rstrip("\n") + "\n\n" + section + "\n"
open(results, "w").write(text)
print(section)
