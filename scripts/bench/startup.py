# startup.py: whole-process start-up time and peak RSS of a command (bench.sh's "startup" row).
#   /usr/bin/python3 scripts/bench/startup.py NAME RUNS CMD [ARGS...]
# Prints "NAME median_seconds peak_rss_kb median_cpu_seconds" (wall time of fork+exec+exit;
# peak RSS and user+system CPU time from wait4).
import os, subprocess, sys, time

name, runs, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
times, cpus, rss = [], [], 0
for i in range(runs + 1):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    if status != 0:
        sys.exit("startup.py: %s exited with status %d" % (cmd, status))
    if i > 0:  # the first run warms the page cache
        times.append(dt)
        cpus.append(ru.ru_utime + ru.ru_stime)
        rss = max(rss, ru.ru_maxrss)
times.sort()
cpus.sort()
m = (len(times) + 1) // 2 - 1
print("%s %.9g %d %.9g" % (name, times[m], rss, cpus[m]), flush=True)
