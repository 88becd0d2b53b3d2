#!/usr/bin/env python3
"""Measure run-to-run noise on the identical-code runs of a corpus made by make.sh.

    scripts/corpus/noise.py [PROFDIFF_BIN] [CORPUS_DIR] [-o NOISE.md]

Each base run is read with `profdiff top --format json` (all functions, self values). For every
unordered pair of base runs of a workload and every function above --min-share of the total
(mean of the two runs), it records

- |Δ self| as a % of the function's self value (|a - b| / mean(a, b)),
- |Δ share| in percentage points of the run total,
- the dispersion φ = (a - b)² / (a + b) in sample counts (≈ 1 under Poisson sampling alone; the
  factor by which the real variance exceeds the sampling variance), where the sampling period is
  known, and the same for shares against the binomial variance.

and, per workload, the coefficient of variation of the run totals (profile total and wall time
from the run's .meta). Output: Markdown on stdout or -o.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import itertools
import json
import statistics
import subprocess
import sys
from pathlib import Path

from eval import runs_of  # same notion of "a run's profile" as the evaluation


def read_flat(profdiff: str, path: Path) -> dict | None:
    """Self value per function, the total and the sampling period of one profile."""
    cmd = [profdiff, "top", "--format", "json", "-n", "1000000", "--node-fraction", "0", str(path)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        return None
    doc = json.loads(p.stdout)
    flat: dict[str, float] = {}
    for row in doc.get("rows", []):
        flat[row["function"]] = flat.get(row["function"], 0) + row["flat"]
    period = (doc.get("profile") or {}).get("period") or None
    if period is None and doc.get("unit") in ("count", "samples"):
        period = 1
    return {"flat": flat, "total": doc["total"], "period": period, "approx_period": False}


def count_samples(path: Path) -> int | None:
    """Number of samples in a V8 .cpuprofile, a sampled speedscope file or `perf script` text
    (they carry no period)."""
    if path.name.endswith(".perf-script.txt"):
        with path.open(errors="replace") as f:
            return sum(1 for line in f if line.strip() and not line[0].isspace()) or None
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if path.name.endswith(".cpuprofile"):
        return len(doc.get("samples", [])) or None
    if path.name.endswith(".speedscope.json"):
        return sum(len(p.get("samples", [])) for p in doc.get("profiles", [])) or None
    return None


def with_mean_period(prof: dict | None, path: Path) -> dict | None:
    """Without a period, use the mean value per sample (exact for fixed periods; V8's intervals
    vary, so its φ is approximate)."""
    if prof and prof["period"] is None:
        n = count_samples(path)
        if n:
            prof = dict(prof, period=prof["total"] / n, approx_period=True)
    return prof


def wall_seconds(profile: Path) -> float | None:
    meta = profile.parent / (profile.name.split(".")[0] + ".meta")
    if not meta.exists():
        return None
    for line in meta.read_text().splitlines():
        if line.startswith("wall_seconds:"):
            return float(line.split(":", 1)[1])
    return None


def quantiles(xs: list[float]) -> str:
    if not xs:
        return "–"
    xs = sorted(xs)
    q = lambda f: xs[min(len(xs) - 1, int(f * (len(xs) - 1) + 0.5))]
    return f"{q(0.5):.2f} / {q(0.95):.2f} / {xs[-1]:.2f}"


def cv(xs: list[float]) -> float | None:
    xs = [x for x in xs if x]
    if len(xs) < 2:
        return None
    return statistics.stdev(xs) / statistics.mean(xs) * 100


def pair_stats(a: dict, b: dict, min_share: float, acc: dict) -> None:
    for fn in set(a["flat"]) | set(b["flat"]):
        va, vb = a["flat"].get(fn, 0), b["flat"].get(fn, 0)
        sa, sb = va / a["total"], vb / b["total"]
        if (sa + sb) / 2 < min_share:
            continue
        rel = abs(va - vb) / ((va + vb) / 2) * 100
        acc["rel"].append(rel)
        acc["pp"].append(abs(sa - sb) * 100)
        acc["rel_big" if (sa + sb) / 2 >= 0.05 else "rel_small"].append(rel)
        if a["period"] and b["period"]:
            na, nb = va / a["period"], vb / b["period"]
            if na + nb > 0:
                phi = (na - nb) ** 2 / (na + nb)
                acc["phi"].append(phi)
                acc["phi_by_fn"].setdefault(fn, []).append(phi)
            ta, tb = a["total"] / a["period"], b["total"] / b["period"]
            p = (na + nb) / (ta + tb)
            var = p * (1 - p) * (1 / ta + 1 / tb)
            if var > 0:
                acc["phi_share"].append((sa - sb) ** 2 / var)


def measure(profdiff: str, corpus: Path, min_share: float, jobs: int) -> dict:
    cells = {}
    for fmt in sorted(p for p in corpus.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for wl in sorted(p for p in fmt.iterdir() if p.is_dir()):
            runs = runs_of(wl / "base")
            if runs:
                cells[(fmt.name, wl.name)] = runs
    files = [r for runs in cells.values() for r in runs]
    with cf.ThreadPoolExecutor(max_workers=jobs) as pool:
        parsed = dict(zip(files, pool.map(lambda f: read_flat(profdiff, f), files)))
    out = {}
    for key, runs in cells.items():
        profs = [p for p in (with_mean_period(parsed[r], r) for r in runs) if p]
        acc = {"rel": [], "pp": [], "phi": [], "phi_share": [], "rel_big": [], "rel_small": [], "phi_by_fn": {},
               "runs": len(profs), "unreadable": len(runs) - len(profs),
               "approx": any(p["approx_period"] for p in profs)}
        for a, b in itertools.combinations(profs, 2):
            pair_stats(a, b, min_share, acc)
        acc["total_cv"] = cv([p["total"] for p in profs])
        acc["wall_cv"] = cv([wall_seconds(r) for r in runs])
        acc["samples"] = statistics.mean(p["total"] / p["period"] for p in profs) if profs and all(p["period"] for p in profs) else None
        out[key] = acc
    return out


def phi_summary(xs: list[float]) -> str:
    return f"{statistics.mean(xs):.1f} (p95 {sorted(xs)[int(0.95 * (len(xs) - 1))]:.1f})" if xs else "–"


def report(cells: dict, min_share: float) -> str:
    lines = [
        f"Functions above {min_share * 100:g}% of the total (mean of the two runs); every unordered pair of "
        "identical-code (base) runs of a workload. Columns: median / 95th percentile / max. "
        "φ: mean of (a−b)²/(a+b) in samples (1 = Poisson sampling noise only) and for shares against "
        "the binomial variance; total CV: coefficient of variation of the profile totals (and of wall time).",
        "",
        "## Per format (workloads pooled)",
        "",
        "| format | pairs×functions | \\|Δself\\| % of self | … functions 1-5 % | … functions ≥ 5 % | \\|Δshare\\| pp | φ counts | φ shares | total CV % (per workload) | wall CV % |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    formats = sorted({k[0] for k in cells})
    for fmt in formats:
        ks = [k for k in cells if k[0] == fmt]
        pool = lambda name: [x for k in ks for x in cells[k][name]]
        tcv = ", ".join(f"{cells[k]['total_cv']:.1f}" for k in ks if cells[k]["total_cv"] is not None)
        wcv = ", ".join(f"{cells[k]['wall_cv']:.1f}" for k in ks if cells[k]["wall_cv"] is not None)
        approx = "≈" if any(cells[k]["approx"] for k in ks) else ""
        lines.append(f"| {fmt} | {len(pool('rel'))} | {quantiles(pool('rel'))} | {quantiles(pool('rel_small'))} | "
                     f"{quantiles(pool('rel_big'))} | {quantiles(pool('pp'))} | {approx}"
                     f"{phi_summary(pool('phi'))} | {approx}{phi_summary(pool('phi_share'))} | {tcv} | {wcv} |")
    lines += ["", "## Per workload", "",
              "| format/workload | runs | samples/run | \\|Δself\\| % | \\|Δshare\\| pp | φ counts | φ shares | total CV % | wall CV % |",
              "|---|---|---|---|---|---|---|---|---|"]
    for k in sorted(cells):
        c = cells[k]
        fmt_cv = lambda v: f"{v:.1f}" if v is not None else "–"
        samples = f"{c['samples']:.0f}" if c["samples"] else "–"
        runs = f"{c['runs']}" + (f" ({c['unreadable']} unreadable)" if c["unreadable"] else "")
        lines.append(f"| {k[0]}/{k[1]} | {runs} | {samples} | {quantiles(c['rel'])} | {quantiles(c['pp'])} | "
                     f"{phi_summary(c['phi'])} | {phi_summary(c['phi_share'])} | {fmt_cv(c['total_cv'])} | {fmt_cv(c['wall_cv'])} |")
    lines += ["", "## Most over-dispersed functions (mean φ over the pairs; top 4 per workload)", ""]
    for k in sorted(cells):
        by_fn = sorted(((statistics.mean(v), f) for f, v in cells[k]["phi_by_fn"].items()), reverse=True)[:4]
        if by_fn:
            lines.append(f"- {k[0]}/{k[1]}: " + "; ".join(f"`{f}` {m:.1f}" for m, f in by_fn))
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("profdiff", nargs="?", default="target/release/profdiff")
    ap.add_argument("corpus", nargs="?", default="/work/corpus", type=Path)
    ap.add_argument("-o", "--output", type=Path)
    ap.add_argument("--min-share", type=float, default=0.01)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    text = report(measure(args.profdiff, args.corpus, args.min_share, args.jobs), args.min_share)
    if args.output:
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
