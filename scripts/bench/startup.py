# startup.py: whole-process start-up time and peak RSS of a command (bench.sh's "startup" row).
#   /usr/bin/python3 scripts/bench/startup.py NAME RUNS CMD [ARGS...]
# Prints "NAME median_seconds peak_rss_kb" (wall time of fork+exec+exit; peak RSS from wait4).
import os, subprocess, sys, time

name, runs, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
times, rss = [], 0
for i in range(runs + 1):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    if status != 0:
        sys.exit("startup.py: %s exited with status %d" % (cmd, status))
    if i > 0:  # the first run warms the page cache
        times.append(dt)
        rss = max(rss, ru.ru_maxrss)
times.sort()
print("%s %.9g %d" % (name, times[(len(times) + 1) // 2 - 1], rss), flush=True)
