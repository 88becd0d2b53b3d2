#!/usr/bin/env python3
"""Write large, valid, realistic-looking profiles of profdiff's text and JSON formats, to
measure how each reader's memory and time grow with the input (`scripts/measure-memory.sh`).

    scripts/gen-large-inputs.py FORMAT SIZE_MB OUT

FORMAT is one of: chrome-cpu (a DevTools performance-panel trace: many timeline events with
arguments and V8 CPU profile chunks), chrome-dur (B/E/X duration events on a few threads),
chrome-dur-unbalanced (the same, one E event in a
hundred lost), speedscope-sampled (py-spy style), speedscope-evented, v8 (a `node --cpu-prof` cpuprofile),
firefox (a samply / Firefox Profiler processed profile), folded, perf-script, callgrind.

The content is generated deterministically (a fixed random seed): a call tree of a few
thousand functions, sampled with a skewed distribution, so the unique stacks stay in the tens of
thousands however large the file grows, as in real long recordings.
"""

import json
import random
import sys

FUNCS = 3000
UNIQUE_PATHS = 40000


def make_tree(rng):
    """Unique call paths (lists of function indexes, root first)."""
    paths = [[0]]
    while len(paths) < UNIQUE_PATHS:
        parent = paths[rng.randrange(len(paths))]
        if len(parent) < 40:
            paths.append(parent + [rng.randrange(1, FUNCS)])
    return paths


def func_name(i):
    return f"app::module_{i % 37}::function_{i}"


def pick(rng, n):
    """A skewed pick of one of n items (a few hot ones)."""
    return min(int(rng.paretovariate(1.2)) - 1, n - 1) if rng.random() < 0.5 else rng.randrange(n)


class Sink:
    def __init__(self, path, limit):
        self.f = open(path, "w", encoding="utf-8")
        self.n = 0
        self.limit = limit

    def write(self, s):
        self.f.write(s)
        self.n += len(s)

    def full(self):
        return self.n >= self.limit

    def close(self):
        self.f.close()


def chrome_cpu(out, rng, paths):
    # V8 node ids: one node per unique path (the path's last frame), parent = its prefix.
    node_of = {}
    nodes = []
    for p in paths:
        for d in range(1, len(p) + 1):
            key = tuple(p[:d])
            if key not in node_of:
                node_of[key] = len(nodes) + 1
                parent = node_of.get(tuple(p[: d - 1]))
                f = p[d - 1]
                nodes.append(
                    {
                        "id": node_of[key],
                        **({"parent": parent} if parent else {}),
                        "callFrame": {
                            "functionName": "(root)" if d == 1 else func_name(f),
                            "url": f"https://example.com/js/bundle_{f % 50}.js",
                            "scriptId": f % 50 + 1,
                            "lineNumber": f * 7 % 5000,
                            "columnNumber": f * 13 % 120,
                        },
                        "codeType": "JS",
                    }
                )
    leaves = [node_of[tuple(p)] for p in paths]
    out.write('{"metadata":{"source":"DevTools","startTime":"2026-12-05T10:00:00.000Z"},"traceEvents":[\n')
    threads = [(101, 1, "CrBrowserMain"), (202, 7, "CrRendererMain"), (202, 9, "DedicatedWorker thread")]
    for pid, tid, name in threads:
        out.write(json.dumps({"args": {"name": name}, "cat": "__metadata", "name": "thread_name", "ph": "M", "pid": pid, "tid": tid, "ts": 0}) + ",\n")
    for i, (pid, tid, _) in enumerate(threads[1:]):
        out.write(json.dumps({"args": {"data": {"startTime": 1000}}, "cat": "disabled-by-default-v8.cpu_profiler", "id": f"0x{i + 1}", "name": "Profile", "ph": "P", "pid": pid, "tid": tid, "ts": 1000}) + ",\n")
    ts = 1000
    sent = 0
    chunk = 0
    while not out.full():
        # Timeline events between chunks, as DevTools records them.
        for _ in range(40):
            ts += rng.randrange(5, 200)
            pid, tid, _ = threads[rng.randrange(3)]
            out.write(json.dumps({
                "args": {"data": {"frame": "A1B2C3D4E5F6", "url": f"https://example.com/page/{rng.randrange(1000)}", "stackTrace": [{"functionName": func_name(rng.randrange(FUNCS)), "scriptId": "12", "url": "https://example.com/js/bundle_3.js", "lineNumber": 10, "columnNumber": 4}]}},
                "cat": "devtools.timeline", "dur": rng.randrange(1, 500), "name": rng.choice(["FunctionCall", "EvaluateScript", "Layout", "Paint", "UpdateLayoutTree"]),
                "ph": "X", "pid": pid, "tdur": rng.randrange(1, 400), "tid": tid, "ts": ts, "tts": ts // 2}) + ",\n")
        # A profile chunk on one of the two sampled threads.
        which = chunk % 2
        pid, tid, _ = threads[1 + which]
        new_nodes = nodes[sent: sent + 500] if which == 0 else []
        if which == 0:
            sent += len(new_nodes)
        known = max(sent, 1)
        samples = [leaves[min(pick(rng, len(leaves)), known - 1)] if known > 1 else 1 for _ in range(400)]
        # Keep samples on nodes already sent to this profile (worker: its own small tree).
        if which == 1:
            samples = [1 for _ in range(400)]
            if chunk == 1:
                new_nodes = [{"id": 1, "callFrame": {"functionName": "(root)", "url": "", "scriptId": 0, "lineNumber": -1, "columnNumber": -1}}]
        else:
            samples = [s if s <= sent else 1 for s in samples]
        deltas = [rng.randrange(90, 140) for _ in samples]
        data = {"cpuProfile": {"nodes": new_nodes, "samples": samples}, "timeDeltas": deltas}
        out.write(json.dumps({"args": {"data": data}, "cat": "disabled-by-default-v8.cpu_profiler", "id": f"0x{which + 1}", "name": "ProfileChunk", "ph": "P", "pid": pid, "tid": tid, "ts": ts}) + ",\n")
        chunk += 1
    out.write(json.dumps({"args": {}, "cat": "devtools.timeline", "name": "TracingStartedInBrowser", "ph": "I", "pid": 101, "tid": 1, "ts": ts}) + "\n]}\n")


def chrome_dur(out, rng, paths, unbalanced=False):
    """Nested B/E pairs with an X event inside, per thread. Unbalanced: one E event in a
    hundred is missing (a tracer that lost events), so frames stay open to the end."""
    out.write("[\n")
    first = True
    clock = [0, 0, 0, 0]
    while not out.full():
        for tid in range(4):
            p = paths[pick(rng, len(paths))]
            t = clock[tid]
            for depth, f in enumerate(p):
                ev = {"pid": 1, "tid": tid, "ph": "B", "name": func_name(f), "ts": t, "args": {"depth": depth}}
                out.write(("" if first else ",\n") + json.dumps(ev))
                first = False
                t += 1
            leaf = {"pid": 1, "tid": tid, "ph": "X", "name": "leaf_work", "ts": t, "dur": rng.randrange(1, 50)}
            out.write(",\n" + json.dumps(leaf))
            t += 60
            for depth, f in reversed(list(enumerate(p))):
                if not (unbalanced and rng.random() < 0.01):
                    out.write(",\n" + json.dumps({"pid": 1, "tid": tid, "ph": "E", "name": func_name(f), "ts": t, "args": {"depth": depth}}))
                t += 1
            clock[tid] = t + 10
    out.write("\n]\n")


def speedscope(out, rng, paths, evented):
    frames = [{"name": func_name(i), "file": f"src/module_{i % 37}.py", "line": i % 400 + 1} for i in range(FUNCS)]
    out.write('{"$schema":"https://www.speedscope.app/file-format-schema.json","shared":{"frames":')
    out.write(json.dumps(frames))
    out.write('},"profiles":[')
    pi = 0
    while not out.full():
        if pi:
            out.write(",")
        name = f'Thread {1000 + pi} "worker-{pi}"'
        if evented:
            out.write(json.dumps({"type": "evented", "name": name, "unit": "microseconds", "startValue": 0})[:-1])
            out.write(',"events":[')
            at = 0
            first = True
            for _ in range(20000):
                p = paths[pick(rng, len(paths))]
                for f in p:
                    out.write(("" if first else ",") + '{"type":"O","frame":%d,"at":%d}' % (f, at))
                    first = False
                    at += rng.randrange(1, 20)
                for f in reversed(p):
                    out.write(',{"type":"C","frame":%d,"at":%d}' % (f, at))
                    at += rng.randrange(1, 20)
            out.write('],"endValue":%d}' % at)
        else:
            out.write(json.dumps({"type": "sampled", "name": name, "unit": "seconds", "startValue": 0})[:-1])
            n = 50000
            out.write(',"samples":[')
            out.write(",".join(json.dumps(paths[pick(rng, len(paths))], separators=(",", ":")) for _ in range(n)))
            out.write('],"weights":[' + ",".join(["0.01"] * n) + '],"endValue":%d}' % (n // 100))
        pi += 1
    out.write('],"name":"generated","exporter":"py-spy@0.3.14"}\n')


def v8(out, rng, paths):
    # A tree with children lists, as node --cpu-prof writes it.
    node_of = {(): 1}
    nodes = {1: {"id": 1, "callFrame": {"functionName": "(root)", "scriptId": "0", "url": "", "lineNumber": -1, "columnNumber": -1}, "hitCount": 0, "children": []}}
    for p in paths:
        for d in range(1, len(p) + 1):
            key = tuple(p[:d])
            if key not in node_of:
                nid = len(nodes) + 1
                node_of[key] = nid
                f = p[d - 1]
                nodes[nid] = {"id": nid, "callFrame": {"functionName": func_name(f), "scriptId": str(f % 50), "url": f"file:///app/lib/mod_{f % 50}.js", "lineNumber": f % 900, "columnNumber": f % 60}, "hitCount": 0, "children": []}
                nodes[node_of[key[:-1]]]["children"].append(nid)
    leaves = [node_of[tuple(p)] for p in paths]
    out.write('{"nodes":[')
    out.write(",".join(json.dumps(n, separators=(",", ":")) for n in nodes.values()))
    out.write('],"startTime":1000,"endTime":')
    # Samples and deltas: the file's size is mostly these two arrays.
    budget = max(out.limit - out.n, 0)
    n = budget // 12
    out.write(str(1000 + n * 100))
    out.write(',"samples":[')
    out.write(",".join(str(leaves[pick(rng, len(leaves))]) for _ in range(n)))
    out.write('],"timeDeltas":[')
    out.write(",".join(str(rng.randrange(90, 110)) for _ in range(n)))
    out.write("]}\n")


def firefox(out, rng, paths):
    strings = [func_name(i) for i in range(FUNCS)] + ["libapp.so"]
    # stack table: one row per prefix.
    stack_of = {}
    prefix, frame = [], []
    for p in paths:
        for d in range(1, len(p) + 1):
            key = tuple(p[:d])
            if key not in stack_of:
                stack_of[key] = len(prefix)
                prefix.append(stack_of.get(key[:-1]))
                frame.append(p[d - 1])
    leaves = [stack_of[tuple(p)] for p in paths]
    nstack = len(prefix)
    thread = {
        "name": "GeckoMain", "processName": "app", "processType": "default", "pid": "4242", "tid": 4242,
        "registerTime": 0, "unregisterTime": None, "processStartupTime": 0, "processShutdownTime": None, "pausedRanges": [],
        "markers": {"length": 0, "category": [], "data": [], "endTime": [], "name": [], "phase": [], "startTime": []},
        "stackTable": {"length": nstack, "prefix": prefix, "frame": frame, "category": [1] * nstack, "subcategory": [0] * nstack},
        "frameTable": {"length": FUNCS, "address": [0x1000 + 16 * i for i in range(FUNCS)], "inlineDepth": [0] * FUNCS, "category": [1] * FUNCS, "subcategory": [0] * FUNCS,
                       "func": list(range(FUNCS)), "nativeSymbol": [None] * FUNCS, "innerWindowID": [None] * FUNCS, "implementation": [None] * FUNCS,
                       "line": [None] * FUNCS, "column": [None] * FUNCS, "optimizations": [None] * FUNCS},
        "funcTable": {"length": FUNCS, "name": list(range(FUNCS)), "isJS": [False] * FUNCS, "relevantForJS": [False] * FUNCS, "resource": [0] * FUNCS,
                      "fileName": [None] * FUNCS, "lineNumber": [None] * FUNCS, "columnNumber": [None] * FUNCS},
        "resourceTable": {"length": 1, "lib": [0], "name": [FUNCS], "host": [None], "type": [1]},
        "nativeSymbols": {"length": 0, "address": [], "libIndex": [], "name": []},
        "stringArray": strings,
    }
    head = {
        "meta": {"interval": 1, "startTime": 0, "processType": 0, "product": "app", "stackwalk": 1, "version": 24, "preprocessedProfileVersion": 41,
                 "symbolicated": True, "categories": [{"name": "Other", "color": "grey", "subcategories": ["Other"]}, {"name": "User", "color": "yellow", "subcategories": ["Other"]}],
                 "sampleUnits": {"time": "ms", "eventDelay": "ms", "threadCPUDelta": "µs"}, "markerSchema": []},
        "libs": [{"name": "libapp.so", "path": "/usr/lib/libapp.so", "debugName": "libapp.so", "debugPath": "/usr/lib/libapp.so", "breakpadId": "0" * 33, "codeId": None, "arch": None}],
        "pages": [], "counters": [],
    }
    text = json.dumps(head)[:-1] + ',"threads":['
    out.write(text)
    body = json.dumps(thread)[:-1]
    out.write(body)
    budget = max(out.limit - out.n, 0)
    n = budget // 30
    out.write(',"samples":{"length":%d,"weightType":"samples","stack":[' % n)
    out.write(",".join(str(leaves[pick(rng, len(leaves))]) for _ in range(n)))
    out.write('],"time":[' + ",".join("%.3f" % (i * 1.001) for i in range(n)))
    out.write('],"weight":null,"threadCPUDelta":[' + ",".join(str(rng.randrange(900, 1100)) for _ in range(n)) + "]}}]}\n")


def folded(out, rng, paths):
    while not out.full():
        lines = []
        for _ in range(1000):
            p = paths[pick(rng, len(paths))]
            lines.append(";".join(func_name(f) for f in p) + f" {rng.randrange(1, 100)}\n")
        out.write("".join(lines))


def perf_script(out, rng, paths):
    t = 1000.0
    while not out.full():
        parts = []
        for _ in range(500):
            p = paths[pick(rng, len(paths))]
            t += 0.0001
            parts.append(f"app 4242/4242 [001] {t:.6f}: 100000 cpu-clock:u: \n")
            for f in reversed(p):
                parts.append(f"\t    {0x400000 + f * 64:x} {func_name(f)}+0x{f % 200:x} (/usr/bin/app)\n")
            parts.append("\n")
        out.write("".join(parts))


def callgrind(out, rng, paths):
    out.write("# callgrind format\nversion: 1\ncreator: callgrind-3.22.0\npid: 4242\ncmd: ./app\npart: 1\n\npositions: line\nevents: Ir\nsummary: 0\n\n")
    total = 0
    while not out.full():
        parts = []
        for _ in range(500):
            f = rng.randrange(FUNCS)
            own = rng.randrange(1, 9999)
            parts.append(f"fl=src/module_{f % 37}.c\nfn={func_name(f)}\n{f % 500 + 1} {own}\n")
            g = rng.randrange(FUNCS)
            inclusive = rng.randrange(1, 9999)
            parts.append(f"cfl=src/module_{g % 37}.c\ncfn={func_name(g)}\ncalls=1 {g % 500 + 1}\n{f % 500 + 2} {inclusive}\n\n")
            total += own
        out.write("".join(parts))
    out.write(f"totals: {total}\n")


GENERATORS = {
    "chrome-cpu": chrome_cpu,
    "chrome-dur": chrome_dur,
    "chrome-dur-unbalanced": lambda o, r, p: chrome_dur(o, r, p, True),
    "speedscope-sampled": lambda o, r, p: speedscope(o, r, p, False),
    "speedscope-evented": lambda o, r, p: speedscope(o, r, p, True),
    "v8": v8,
    "firefox": firefox,
    "folded": folded,
    "perf-script": perf_script,
    "callgrind": callgrind,
}


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in GENERATORS:
        sys.exit(__doc__)
    fmt, size, path = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    rng = random.Random(42)
    paths = make_tree(rng)
    out = Sink(path, int(size * 1e6))
    GENERATORS[fmt](out, rng, paths)
    out.close()


if __name__ == "__main__":
    main()
