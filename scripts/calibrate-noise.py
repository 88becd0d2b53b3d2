#!/usr/bin/env python3
"""Estimate compare's run-to-run noise floor from identical-code runs.

usage: calibrate-noise.py PROFDIFF RUN1 RUN2 ... [--phi 2.0]

Every pair of runs is compared one run per side (`--normalize none`, JSON). Per function,
d = (new - old) / mean is its relative change and c its mean sample count; under the model
var(run value) = phi*m^2/c + (r*m)^2, E[d^2]/2 = phi/c + r^2. Prints the method-of-moments r
for functions with c >= 50 samples (where sampling noise is small), quantiles of |d|, the
same for the total, and phi estimated from small functions (c < 50) with r removed.
"""
import itertools, json, statistics, subprocess, sys

args = sys.argv[1:]
phi = 2.0
if "--phi" in args:
    i = args.index("--phi")
    phi = float(args[i + 1])
    del args[i : i + 2]
exe, runs = args[0], args[1:]
big, small, tot = [], [], []
for a, b in itertools.combinations(runs, 2):
    out = subprocess.run([exe, "compare", "--format", "json", "--normalize", "none", a, b],
                         capture_output=True, text=True)
    if out.returncode not in (0, 1):
        print("skip", a, b, out.stderr.strip()[:200], file=sys.stderr)
        continue
    d = json.loads(out.stdout)
    ps_o = d["old"]["total"] / max(d["old"]["samples"], 1)
    ps_n = d["new"]["total"] / max(d["new"]["samples"], 1)
    t = d["total"]
    m = (t["old"] + t["new"]) / 2
    tot.append(((t["new"] - t["old"]) / m, (d["old"]["samples"] + d["new"]["samples"]) / 2))
    for f in d["regressions"] + d["improvements"]:
        o, n = f["old_self_abs"], f["new_self_abs"]
        m = (o + n) / 2
        c = (o / ps_o + n / ps_n) / 2
        if m <= 0:
            continue
        rel = (n - o) / m
        (big if c >= 50 else small).append((rel, c))

def report(name, rows):
    if not rows:
        print(f"{name}: no rows")
        return
    ex = [r * r / 2 - phi / c for r, c in rows]
    r2 = max(statistics.mean(ex), 0.0)
    absd = sorted(abs(r) for r, _ in rows)
    q = lambda p: absd[min(len(absd) - 1, int(p * len(absd)))]
    print(f"{name}: n={len(rows)} r={r2 ** 0.5:.3f} |d| median={q(0.5):.3f} p90={q(0.9):.3f} p99={q(0.99):.3f} max={absd[-1]:.3f}")

report("functions (c>=50)", big)
report("total", tot)
if small:
    # phi from small functions: E[d^2]/2 - r^2 = phi/c
    r2 = max(statistics.mean([r * r / 2 - phi / c for r, c in big]), 0.0) if big else 0.0
    est = statistics.mean([(r * r / 2 - r2) * c for r, c in small])
    print(f"phi estimated from {len(small)} small-function rows: {est:.2f}")
