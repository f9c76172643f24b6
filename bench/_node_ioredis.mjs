// ioredis on Node, for read_results.ts: the same three workloads over the same stored keys
// (GET + JSON.parse with 1,000 in flight; MGET of 100 + JSON.parse, 10 in flight and one at a
// time), default options and enableAutoPipelining, interleaved rounds. Prints one JSON line:
// {"node": version, "rates": {mode: {variant: median results/s}}}.
//
//   node bench/_node_ioredis.mjs --host 127.0.0.1 --port 6379 --db 1 --ids ids.txt [--rounds 9]
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import process from "node:process";

// Loaded with require() from bench/node_modules (`cd bench && npm i`).
const Redis = createRequire(import.meta.url)("ioredis");

function flag(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
}

const host = flag("host", "127.0.0.1");
const port = Number(flag("port", "6379"));
const db = Number(flag("db", "0"));
const rounds = Number(flag("rounds", "9"));
const warmup = Number(flag("warmup", "3"));
const ids = readFileSync(flag("ids"), "utf8").split("\n").filter(Boolean);
const keys = ids.map((id) => `celery-task-meta-${id}`);
const n = keys.length;

const parse = (text) => JSON.parse(text);
const parseAll = (texts) => texts.map(parse);

function reader(name, autoPipelining) {
  const client = new Redis({
    host,
    port,
    db,
    enableAutoPipelining: autoPipelining,
  });
  return {
    name,
    one: (i) => client.get(keys[i]).then(parse),
    many: (from, to) => client.mget(keys.slice(from, to)).then(parseAll),
    close: () => client.quit(),
  };
}

function check(meta) {
  if (meta?.status !== "SUCCESS") {
    throw new Error(`unexpected meta ${JSON.stringify(meta)}`);
  }
}

const modes = {
  async get(r) {
    for (let start = 0; start < n; start += 1000) {
      const end = Math.min(n, start + 1000);
      const pending = new Array(end - start);
      for (let i = start; i < end; i++) pending[i - start] = r.one(i);
      for (const meta of await Promise.all(pending)) check(meta);
    }
  },
  async mget(r) {
    for (let start = 0; start < n; start += 1000) {
      const calls = [];
      for (let from = start; from < Math.min(n, start + 1000); from += 100) {
        calls.push(r.many(from, Math.min(n, from + 100)));
      }
      for (const metas of await Promise.all(calls)) metas.forEach(check);
    }
  },
  async mget1(r) {
    for (let from = 0; from < n; from += 100) {
      (await r.many(from, Math.min(n, from + 100))).forEach(check);
    }
  },
};

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const readers = [
  reader("ioredis", false),
  reader("ioredis (autopipelining)", true),
];
const rates = {};
for (const [mode, run] of Object.entries(modes)) {
  const samples = Object.fromEntries(readers.map((r) => [r.name, []]));
  for (let round = 0; round < warmup + rounds; round++) {
    for (let k = 0; k < readers.length; k++) {
      const r = readers[(k + round) % readers.length];
      const t0 = performance.now();
      await run(r);
      const seconds = (performance.now() - t0) / 1000;
      if (round >= warmup) samples[r.name].push(n / seconds);
    }
  }
  rates[mode] = Object.fromEntries(
    Object.entries(samples).map(([name, xs]) => [name, median(xs)]),
  );
}
for (const r of readers) await r.close();
console.log(JSON.stringify({ node: process.version, rates }));
