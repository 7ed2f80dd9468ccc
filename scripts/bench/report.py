# report.py: medians and ratios of a benchmark run (scripts/bench/run.sh), written as a
# Markdown table into RESULTS.md between the suite's markers. Ratio = PyTorch time / nnlua
# time (above 1: nnlua is faster), each against PyTorch's best thread count.
import os, platform, statistics, sys, datetime

out, results = sys.argv[1], sys.argv[2]

def load(name):
    d = {}
    path = os.path.join(out, name + ".txt")
    if not os.path.exists(path):
        return d
    for line in open(path):
        parts = line.split()
        if len(parts) == 2:
            d.setdefault(parts[0], []).append(float(parts[1]))
    return {k: statistics.median(v) for k, v in d.items()}

nl, t1, t2, sg = load("nnlua"), load("torch1"), load("torch2"), load("sgemm")

def fmt(s):
    return "%.3g ms" % (s * 1e3) if s >= 1e-3 else "%.3g us" % (s * 1e6)

rows = ["| workload | nnlua | PyTorch 1 thr | PyTorch 2 thr | ratio (best PyTorch / nnlua) |",
        "|---|---|---|---|---|"]
for k in nl:
    best = min(x for x in (t1.get(k), t2.get(k)) if x is not None) if (k in t1 or k in t2) else None
    ratio = "%.2fx" % (best / nl[k]) if best else "-"
    rows.append("| %s | %s | %s | %s | %s |" % (k, fmt(nl[k]), fmt(t1[k]) if k in t1 else "-",
                                                 fmt(t2[k]) if k in t2 else "-", ratio))
if "sgemm_1024" in sg and "matmul_1024" in nl:
    rows.append("")
    rows.append("matmul 1024: nnlua reaches %.0f%% of OpenBLAS's own sgemm rate (%.0f GFLOP/s raw)." %
                (100 * sg["sgemm_1024"] / nl["matmul_1024"], 2 * 1024**3 / sg["sgemm_1024"] / 1e9))
env = "OPENBLAS_CORETYPE=%s" % os.environ.get("OPENBLAS_CORETYPE", "(unset)")
body = "\n".join(["<!-- tensor_ops:begin -->",
                  "### Tensor ops (`scripts/bench/tensor_ops.lua` vs `tensor_ops.py`)",
                  "",
                  "Measured %s on %s (%d cores), %s; medians of per-call times, all columns from one run." %
                  (datetime.date.today(), platform.processor() or platform.machine(), os.cpu_count(), env),
                  ""] + rows + ["<!-- tensor_ops:end -->"])
print(body)
text = open(results).read() if os.path.exists(results) else "# Benchmark results\n\nRatios are PyTorch time / nnlua time, measured side by side in one run (`make bench`).\n\n"
if "<!-- tensor_ops:begin -->" in text:
    a = text.index("<!-- tensor_ops:begin -->")
    b = text.index("<!-- tensor_ops:end -->") + len("<!-- tensor_ops:end -->")
    text = text[:a] + body + text[b:]
else:
    text = text.rstrip("\n") + "\n\n" + body + "\n"
open(results, "w").write(text)
