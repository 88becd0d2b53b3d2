"""pywork: fixed-work Python program with three workloads (mix, tree, text).

Usage: pywork.py MODE VARIANT [SCALE]. VARIANT is base, regress (one function per mode does
2x its work) or speedup (another function does less work); nothing else changes.
"""
import sys

MODE, VARIANT = sys.argv[1], sys.argv[2]
SCALE = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0


def factor(when, f):
    return f if VARIANT == when else 1


def hash_mix(n, seed):
    h = 0x9E3779B9 ^ seed
    for i in range(n):
        h = ((h ^ i) * 0x85EBCA6B) & 0xFFFFFFFF
        h ^= h >> 13
    return h


def crc_block(buf, seed, rounds):
    c = seed ^ 0xFFFFFFFF
    for _ in range(rounds):
        for b in buf:
            c = CRC_TAB[(c ^ b) & 0xFF] ^ (c >> 8)
    return c


def sort_records(n, seed):
    recs = [((i * 7919 + seed) % 10007, str(i)) for i in range(n)]
    recs.sort(key=lambda r: (r[0], r[1]))
    return recs[n // 2][0]


def count_words(text):
    return sum(1 for w in text.split(" ") if w)


def make_crc_tab():
    tab = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = 0xEDB88320 ^ (c >> 1) if c & 1 else c >> 1
        tab.append(c)
    return tab


CRC_TAB = make_crc_tab()


def run_mix(rounds):
    buf = bytes((i * 31) & 0xFF for i in range(4096))
    text = "".join(" " if i % 7 == 0 else "a" for i in range(1 << 15))
    acc = 0
    for r in range(rounds):
        acc += hash_mix(20000 // factor("speedup", 2), r)
        acc += crc_block(buf, r, factor("regress", 2))
        acc += sort_records(3000, r)
        for _ in range(4):
            acc += count_words(text)
    return acc


class Node:
    __slots__ = ("l", "r", "v")

    def __init__(self, l, r, v):
        self.l, self.r, self.v = l, r, v


def build_tree(depth, v):
    if depth == 0:
        return Node(None, None, v)
    return Node(build_tree(depth - 1, v * 3 + 1), build_tree(depth - 1, v * 3 + 2), v)


def walk_tree(n, h, rounds):
    if n is None:
        return h
    v = n.v
    for k in range(6 * rounds):
        h = ((h ^ (v + k)) * 0x01000193) & 0xFFFFFFFF
    h = walk_tree(n.l, h, rounds)
    return walk_tree(n.r, h, rounds)


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def run_tree(rounds):
    acc = 0
    for r in range(rounds):
        t = build_tree(10, r)
        acc += walk_tree(t, r, factor("regress", 2))
        acc += fib(17 - factor("speedup", 3) + 1 + (r & 1))
    return acc


def render_rows(rows):
    return "\n".join(f"{i:6d} | {r:016x} | {r / 1e12:.3f}" for i, r in enumerate(rows))


def parse_fields(text, passes):
    acc = 0
    for p in range(passes):
        for line in text.split("\n"):
            f = line.split("|")
            if len(f) > 1:
                acc ^= int(f[1].strip(), 16) + p
    return acc


def upper_words(text, div):
    return sum(len(w.upper()) for w in text[: len(text) // div].split())


def run_text(rounds):
    acc = 0
    x = 88172645463325252
    for r in range(rounds):
        rows = []
        for _ in range(600):
            x ^= (x << 13) & 0xFFFFFFFFFFFFFFFF
            x ^= x >> 7
            x ^= (x << 17) & 0xFFFFFFFFFFFFFFFF
            rows.append(x)
        text = render_rows(rows)
        acc ^= parse_fields(text, factor("regress", 2))
        acc += upper_words(text, factor("speedup", 2))
    return acc


RUNS = {"mix": (run_mix, 200), "tree": (run_tree, 500), "text": (run_text, 800)}
fn, rounds = RUNS[MODE]
print("pywork", MODE, VARIANT, fn(int(rounds * SCALE)))
