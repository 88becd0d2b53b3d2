#!/usr/bin/env python3
"""Count the false verdicts of `profdiff compare` on a corpus made by scripts/corpus/make.sh.

For every <format>/<workload> of the corpus it runs `profdiff compare --fail-on 5%
--fail-on-function 2% --format json` on:

- identical code (base vs base): unordered pairs of distinct runs, one run per side (the
  earlier run is OLD; a seeded sample when there are more than --max-pairs), and seeded random
  disjoint 3-vs-3 and 5-vs-5 splits. Any regression or improvement verdict or gate trip is
  false; flagged (significant) functions are counted, and are misses with --strict.
- an injected regression (base vs regress): the changed function must be the first regression
  row and flagged; no other function may be flagged as a regression.
- a pure speed-up (base vs speedup): no gate may trip, no regression verdict.

It prints a table per format/workload/mode and totals, and exits 1 when a target is missed
(2 on usage errors). Reading the JSON report is done in one place, `read_report`, which
tolerates the schema's likely changes.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import itertools
import json
import random
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

GATES = ["--fail-on", "5%", "--fail-on-function", "2%"]
PROFILE_SUFFIXES = (".perf.data", ".pb.gz", ".speedscope.json", ".txt", ".cpuprofile", ".json")


@dataclass
class Row:
    """One function row of the report."""

    name: str
    significant: bool


@dataclass
class Report:
    """What the evaluation needs from one `compare` run."""

    exit_code: int
    status: str = "error"  # regression | shift | improvement | no-significant-change | error
    gate_tripped: bool = False
    regressions: list[Row] = field(default_factory=list)
    improvements: list[Row] = field(default_factory=list)
    error: str = ""

    @property
    def flagged(self) -> list[str]:
        return [r.name for r in self.regressions + self.improvements if r.significant]


def _significant(entry: dict) -> bool:
    """A row is flagged when its significance says so (several spellings tolerated)."""
    for key in ("flagged", "significant"):
        if isinstance(entry.get(key), bool):
            return entry[key]
    sig = entry.get("significance")
    if isinstance(sig, dict):
        for key in ("significant", "flagged", "discovery"):
            if isinstance(sig.get(key), bool):
                return sig[key]
    if isinstance(sig, bool):
        return sig
    return False


def _rows(doc: dict, key: str) -> list[Row]:
    rows = doc.get(key)
    if rows is None and isinstance(doc.get("functions"), dict):
        rows = doc["functions"].get(key)
    return [Row(str(e.get("name", "?")), _significant(e)) for e in rows or [] if isinstance(e, dict)]


def read_report(exit_code: int, stdout: str, stderr: str) -> Report:
    """Parse `compare --format json` output; the only place that knows the schema."""
    if exit_code not in (0, 1):
        return Report(exit_code, error=(stderr.strip().splitlines() or ["?"])[-1][:300])
    try:
        doc = json.loads(stdout)
    except json.JSONDecodeError as e:
        return Report(exit_code, error=f"not JSON: {e}")
    verdict = doc.get("verdict", {})
    if isinstance(verdict, str):
        verdict = {"status": verdict}
    status = str(verdict.get("status", "error")).lower().replace("_", "-")
    gate = verdict.get("gate_tripped", verdict.get("gate", {}))
    if isinstance(gate, dict):
        gate = gate.get("tripped", exit_code == 1)
    return Report(
        exit_code,
        status=status,
        gate_tripped=bool(gate),
        regressions=_rows(doc, "regressions"),
        improvements=_rows(doc, "improvements"),
    )


def run_compare(profdiff: str, old: list[Path], new: list[Path], timeout: float) -> Report:
    cmd = [profdiff, "compare", *GATES, "--format", "json", *map(str, old), "--", *map(str, new)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Report(-1, error=f"timeout after {timeout}s")
    return read_report(p.returncode, p.stdout, p.stderr)


def runs_of(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.startswith("run-") and p.name.endswith(PROFILE_SUFFIXES))


def run_number(path: Path) -> int:
    """NN of `run-NN.ext`."""
    try:
        return int(path.name.split(".")[0].removeprefix("run-"))
    except ValueError:
        return -1


def parse_run_range(text: str) -> tuple[int, int]:
    lo, _, hi = text.partition("-")
    return int(lo), int(hi or lo)


@dataclass
class Job:
    """One comparison to make, and what it is for."""

    format: str
    workload: str
    kind: str  # identical | regress | speedup
    mode: str  # 1v1 | 3v3 | 5v5
    old: list[Path]
    new: list[Path]
    target: str | None = None  # regex of the changed function (regress)


def identical_jobs(fmt: str, wl: str, base: list[Path], rng: random.Random, args) -> list[Job]:
    pairs = list(itertools.combinations(base, 2))
    if len(pairs) > args.max_pairs:
        pairs = rng.sample(pairs, args.max_pairs)
    jobs = [Job(fmt, wl, "identical", "1v1", [a], [b]) for a, b in pairs]
    for k in (3, 5):
        if len(base) < 2 * k:
            continue
        for _ in range(args.splits):
            pick = rng.sample(base, 2 * k)
            jobs.append(Job(fmt, wl, "identical", f"{k}v{k}", sorted(pick[:k]), sorted(pick[k:])))
    return jobs


def changed_jobs(fmt, wl, kind, base, changed, target, rng, args) -> list[Job]:
    pairs = list(itertools.product(base, changed))
    if len(pairs) > args.max_changed_pairs:
        pairs = rng.sample(pairs, args.max_changed_pairs)
    jobs = [Job(fmt, wl, kind, "1v1", [a], [b], target) for a, b in pairs]
    for k in (3, 5):
        if len(base) < k or len(changed) < k:
            continue
        for _ in range(args.changed_splits):
            jobs.append(Job(fmt, wl, kind, f"{k}v{k}", sorted(rng.sample(base, k)), sorted(rng.sample(changed, k)), target))
    return jobs


def read_targets(corpus: Path) -> dict[str, tuple[str, str]]:
    targets = {}
    path = corpus / "targets.tsv"
    if path.exists():
        for line in path.read_text().splitlines()[1:]:
            parts = line.split("\t")
            if len(parts) == 3:
                targets[parts[0]] = (parts[1], parts[2])
    return targets


def plan(corpus: Path, args) -> list[Job]:
    targets = read_targets(corpus)
    jobs = []
    for fmt_dir in sorted(p for p in corpus.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if args.formats and fmt_dir.name not in args.formats:
            continue
        for wl_dir in sorted(p for p in fmt_dir.iterdir() if p.is_dir()):
            if args.workloads and wl_dir.name not in args.workloads:
                continue
            rng = random.Random(f"{args.seed}/{fmt_dir.name}/{wl_dir.name}")
            base = runs_of(wl_dir / "base")
            if args.base_runs:
                lo, hi = args.base_runs
                base = [r for r in base if lo <= run_number(r) <= hi]
            jobs += identical_jobs(fmt_dir.name, wl_dir.name, base, rng, args)
            regress_re, _ = targets.get(wl_dir.name, (None, None))
            for kind, target in (("regress", regress_re), ("speedup", None)):
                changed = runs_of(wl_dir / kind)
                jobs += changed_jobs(fmt_dir.name, wl_dir.name, kind, base, changed, target, rng, args)
    return jobs


@dataclass
class Cell:
    """Counts for one format/workload/kind/mode."""

    n: int = 0
    errors: int = 0
    regression_verdicts: int = 0
    improvement_verdicts: int = 0
    trips: int = 0
    with_flagged: int = 0  # comparisons flagging at least one function that did not change
    named_first: int = 0
    target_flagged: int = 0
    flagged_names: dict = field(default_factory=dict)
    error_texts: set = field(default_factory=set)

    def add(self, job: Job, rep: Report) -> None:
        self.n += 1
        if rep.status == "error":
            self.errors += 1
            self.error_texts.add(rep.error)
            return
        # "shift" (schema 2): the total did not change, but a function grew significantly.
        self.regression_verdicts += rep.status in ("regression", "shift")
        self.improvement_verdicts += rep.status == "improvement"
        self.trips += rep.exit_code == 1
        if job.kind == "regress":
            self._add_regress(job, rep)
        elif job.kind == "speedup":
            wrong = [r.name for r in rep.regressions if r.significant]
            self._note_flagged(wrong)
        else:
            self._note_flagged(rep.flagged)

    def _add_regress(self, job: Job, rep: Report) -> None:
        target = re.compile(job.target) if job.target else None
        is_target = (lambda name: bool(target.search(clean_name(name)))) if target else (lambda name: False)
        first = rep.regressions[0] if rep.regressions else None
        if first and is_target(first.name):
            self.named_first += 1
        if any(is_target(r.name) and r.significant for r in rep.regressions):
            self.target_flagged += 1
        self._note_flagged([r.name for r in rep.regressions if r.significant and not is_target(r.name)])

    def _note_flagged(self, names: list[str]) -> None:
        if names:
            self.with_flagged += 1
        for name in names:
            self.flagged_names[name] = self.flagged_names.get(name, 0) + 1

    def misses(self, kind: str, strict: bool) -> list[str]:
        """Targets this cell misses (empty when it meets them all). Functions flagged on
        identical code count only when strict: under false-discovery-rate control a few are
        expected; verdicts and gate trips are what a user acts on."""
        out = []
        if self.errors:
            out.append(f"{self.errors} errors")
        if kind == "identical":
            if self.regression_verdicts or self.improvement_verdicts:
                out.append("false verdicts")
            if self.trips:
                out.append("gate trips")
            if self.with_flagged and strict:
                out.append("flagged functions")
        elif kind == "regress":
            if self.named_first < self.n - self.errors:
                out.append("not named first")
            if self.target_flagged < self.n - self.errors:
                out.append("not flagged")
            if self.with_flagged:
                out.append("unchanged flagged")
        elif kind == "speedup":
            if self.trips:
                out.append("gate trips")
            if self.regression_verdicts:
                out.append("regression verdicts")
        return out


def clean_name(name: str) -> str:
    """Strip decorations that are not part of the function's identity."""
    return re.sub(r"\s+\((inline|partial-inline)\)$", "", name)


def detail_line(job: Job, rep: Report) -> str:
    return json.dumps({
        "format": job.format, "workload": job.workload, "kind": job.kind, "mode": job.mode,
        "old": [str(p) for p in job.old], "new": [str(p) for p in job.new], "exit": rep.exit_code,
        "status": rep.status, "gate_tripped": rep.gate_tripped, "error": rep.error or None,
        "first_regression": rep.regressions[0].name if rep.regressions else None,
        "flagged_regressions": [r.name for r in rep.regressions if r.significant],
        "flagged_improvements": [r.name for r in rep.improvements if r.significant],
    })


def run_all(jobs: list[Job], args) -> dict:
    cells: dict[tuple, Cell] = {}
    details = open(args.details, "w") if args.details else None
    with cf.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_compare, args.profdiff, j.old, j.new, args.timeout): j for j in jobs}
        for fut in cf.as_completed(futures):
            job, rep = futures[fut], fut.result()
            cells.setdefault((job.format, job.workload, job.kind, job.mode), Cell()).add(job, rep)
            if details:
                details.write(detail_line(job, rep) + "\n")
    if details:
        details.close()
    return cells


def print_summary(cells: dict, out, strict: bool) -> bool:
    """Print the tables; return whether every target was met."""
    ok = True
    kinds = {
        "identical": ("identical code: false regression/improvement verdicts, gate trips, comparisons with flagged functions",
                      ["n", "regr", "impr", "trips", "flagged", "errors"]),
        "regress": ("injected ~2x regression of one function: named first, flagged, other functions flagged",
                    ["n", "first", "flagged", "others", "trips", "errors"]),
        "speedup": ("pure speed-up of one function: gate trips, regression verdicts, functions flagged as regressions",
                    ["n", "trips", "regr", "flagged", "errors"]),
    }
    totals = {}
    for kind, (title, cols) in kinds.items():
        print(f"\n## {title}\n", file=out)
        print(f"{'format/workload':32} {'mode':4} " + " ".join(f"{c:>7}" for c in cols) + "  misses", file=out)
        for key in sorted(k for k in cells if k[2] == kind):
            c = cells[key]
            vals = {"n": c.n, "regr": c.regression_verdicts, "impr": c.improvement_verdicts, "trips": c.trips,
                    "flagged": c.with_flagged, "errors": c.errors, "first": c.named_first,
                    "others": c.with_flagged}
            if kind == "regress":
                vals["flagged"] = c.target_flagged
            misses = c.misses(kind, strict)
            ok &= not misses
            print(f"{key[0] + '/' + key[1]:32} {key[3]:4} " + " ".join(f"{vals[x]:>7}" for x in cols)
                  + "  " + ", ".join(misses), file=out)
            for group in (key[0], "TOTAL"):
                t = totals.setdefault((kind, group, key[3]), {x: 0 for x in cols})
                for x in cols:
                    t[x] += vals[x]
        print(file=out)
        for (k, group, mode), t in sorted(totals.items(), key=lambda kv: (kv[0][1] == "TOTAL", kv[0])):
            if k == kind:
                label = "TOTAL" if group == "TOTAL" else f"{group} (all workloads)"
                print(f"{label:32} {mode:4} " + " ".join(f"{t[x]:>7}" for x in cols), file=out)
    print_details(cells, out)
    return ok


def print_details(cells: dict, out) -> None:
    print("\n## functions flagged that did not change (top 5 per cell), errors\n", file=out)
    for key in sorted(cells):
        c = cells[key]
        if c.flagged_names:
            top = sorted(c.flagged_names.items(), key=lambda kv: -kv[1])[:5]
            print(f"{'/'.join(key)}: " + "; ".join(f"{n} ×{k}" for n, k in top), file=out)
        for e in sorted(c.error_texts)[:2]:
            print(f"{'/'.join(key)}: ERROR {e}", file=out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("profdiff", nargs="?", default="target/release/profdiff")
    ap.add_argument("corpus", nargs="?", default="/work/corpus", type=Path)
    ap.add_argument("--max-pairs", type=int, default=45, help="identical 1v1 pairs per workload (sampled)")
    ap.add_argument("--splits", type=int, default=5, help="random disjoint 3v3 and 5v5 splits per workload")
    ap.add_argument("--max-changed-pairs", type=int, default=12, help="base-vs-variant 1v1 pairs")
    ap.add_argument("--changed-splits", type=int, default=3, help="base-vs-variant 3v3 and 5v5 draws")
    ap.add_argument("--seed", default="13")
    ap.add_argument("--base-runs", type=parse_run_range, metavar="LO-HI",
                    help="only base runs run-LO..run-HI (e.g. 1-6 to calibrate, 7-12 held out)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--format", dest="formats", action="append", help="only this format (repeatable)")
    ap.add_argument("--workload", dest="workloads", action="append", help="only this workload (repeatable)")
    ap.add_argument("--strict", action="store_true",
                    help="a function flagged on identical code is a miss too (default: only verdicts and trips)")
    ap.add_argument("--details", type=Path, help="write one JSON line per comparison here")
    args = ap.parse_args()
    if not Path(args.profdiff).exists() or not args.corpus.is_dir():
        print(f"eval: need a profdiff binary ({args.profdiff}) and a corpus folder ({args.corpus})", file=sys.stderr)
        return 2
    jobs = plan(args.corpus, args)
    print(f"# profdiff compare {' '.join(GATES)}: {len(jobs)} comparisons, binary {args.profdiff}, corpus {args.corpus}")
    print("# identical 1v1 = unordered pairs (earlier run is OLD), seeded sample of at most "
          f"{args.max_pairs}; {args.splits} seeded disjoint 3v3 and 5v5 splits; seed {args.seed}")
    ok = print_summary(run_all(jobs, args), sys.stdout, args.strict)
    print("\nRESULT: " + ("all targets met" if ok else "targets missed"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
