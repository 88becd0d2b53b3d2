// nodework: fixed-work JavaScript program with three workloads (mix, tree, text), profiled
// with `node --cpu-prof`.
// Usage: node nodework.js MODE VARIANT [SCALE]. VARIANT is base, regress (one function per
// mode does 2x its work) or speedup (another function does less work); nothing else changes.
'use strict';
const [MODE, VARIANT] = process.argv.slice(2, 4);
const SCALE = process.argv[4] ? Number(process.argv[4]) : 1.0;
const factor = (when, f) => (VARIANT === when ? f : 1);

function hashMix(n, seed) {
  let h = (0x9e3779b9 ^ seed) >>> 0;
  for (let i = 0; i < n; i++) {
    h = Math.imul(h ^ i, 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
  }
  return h;
}

const CRC_TAB = (() => {
  const tab = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    tab[i] = c >>> 0;
  }
  return tab;
})();

function crcBlock(buf, seed) {
  let c = (seed ^ 0xffffffff) >>> 0;
  for (let i = 0; i < buf.length; i++) c = (CRC_TAB[(c ^ buf[i]) & 0xff] ^ (c >>> 8)) >>> 0;
  return c;
}

function sortRecords(n, seed) {
  const recs = [];
  for (let i = 0; i < n; i++) recs.push([(i * 7919 + seed) % 10007, String(i)]);
  recs.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return recs[n >> 1][0];
}

function countWords(text) {
  return text.split(' ').filter((w) => w.length > 0).length;
}

function runMix(rounds) {
  const buf = new Uint8Array(1 << 16).map((_, i) => (i * 31) & 0xff);
  let text = '';
  for (let i = 0; i < 1 << 15; i++) text += i % 7 === 0 ? ' ' : 'a';
  // The regression feeds crcBlock twice as many bytes: same code, 2x its work.
  const crcBuf = factor('regress', 2) === 2 ? new Uint8Array([...buf, ...buf]) : buf;
  let acc = 0;
  for (let r = 0; r < rounds; r++) {
    acc += hashMix(3000000 / factor('speedup', 2), r);
    for (let k = 0; k < 8; k++) acc += crcBlock(crcBuf, r * 8 + k);
    acc += sortRecords(20000, r);
    for (let k = 0; k < 6; k++) acc += countWords(text);
  }
  return acc;
}

function buildTree(depth, v) {
  if (depth === 0) return { l: null, r: null, v };
  return { l: buildTree(depth - 1, v * 3 + 1), r: buildTree(depth - 1, v * 3 + 2), v };
}

function walkTree(n, h, rounds) {
  if (n === null) return h;
  for (let r = 0; r < rounds; r++)
    for (let k = 0; k < 16; k++) h = Math.imul(h ^ ((n.v + k) | 0), 0x01000193) >>> 0;
  h = walkTree(n.l, h, rounds);
  return walkTree(n.r, h, rounds);
}

function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

function runTree(rounds) {
  let acc = 0;
  for (let r = 0; r < rounds; r++) {
    const t = buildTree(14, r);
    acc += walkTree(t, r, factor('regress', 2));
    acc += fib(25 - factor('speedup', 3) + 1 + (r & 1));
  }
  return acc;
}

function renderRows(rows) {
  return rows
    .map((r, i) => `${String(i).padStart(6)} | ${r.toString(16).padStart(16, '0')} | ${(Number(r) / 1e12).toFixed(3)}`)
    .join('\n');
}

function parseFields(text, passes) {
  let acc = 0;
  for (let p = 0; p < passes; p++)
    for (const line of text.split('\n')) {
      const f = line.split('|');
      if (f.length > 1) acc ^= parseInt(f[1].trim().slice(0, 8), 16) + p;
    }
  return acc;
}

function upperWords(text, div) {
  return text
    .slice(0, Math.floor(text.length / div))
    .split(/\s+/)
    .reduce((n, w) => n + w.toUpperCase().length, 0);
}

function runText(rounds) {
  let acc = 0;
  let x = 88172645463325252n;
  const M = (1n << 64n) - 1n;
  for (let r = 0; r < rounds; r++) {
    const rows = [];
    for (let i = 0; i < 2000; i++) {
      x ^= (x << 13n) & M;
      x ^= x >> 7n;
      x ^= (x << 17n) & M;
      rows.push(x);
    }
    const text = renderRows(rows);
    acc ^= parseFields(text, factor('regress', 2));
    acc += upperWords(text, factor('speedup', 2));
  }
  return acc;
}

const RUNS = { mix: [runMix, 80], tree: [runTree, 200], text: [runText, 200] };
const [fn, rounds] = RUNS[MODE];
console.log('nodework', MODE, VARIANT, fn(Math.floor(rounds * SCALE)));
