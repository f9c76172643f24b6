// Run by resp_hostile_test.ts in a child process with a 256 MB heap: feeds hostile replies, each a
// few hundred KB at most, to RespDecoders, with the default limits and with limits raised so high
// that only memory-proportional decoding keeps the process alive. Prints one JSON line: what each
// input ended in, and the process's peak RSS.
import { readFileSync } from "node:fs";
import process from "node:process";
import { RespDecoder, type RespDecoderOptions } from "../src/connection/resp/decode.ts";

const encoder = new TextEncoder();
const ascii = (text: string) => encoder.encode(text);

/** Hostile inputs: [name, bytes, how many decoders (connections) receive them]. */
const inputs: [string, Uint8Array, number][] = [
  // Nested aggregates each claiming 99,999 elements: 320 KB that once claimed ~32 GB of slots.
  ["nested big counts", ascii("*99999\r\n".repeat(40_000)), 1],
  ["nested big maps", ascii("%4999999\r\n+k\r\n".repeat(20_000)), 1],
  ["count beyond any limit", ascii("*2147483647\r\n:1\r\n"), 1],
  ["count at the default limit", ascii("*16777216\r\n" + ":1\r\n".repeat(50_000)), 1],
  ["deep nesting", ascii("*1\r\n".repeat(100_000)), 1],
  // 200 connections each announcing a 512 MiB bulk string and sending 1 KB of it.
  ["bulk claims", ascii("$536870912\r\n" + "x".repeat(1024)), 200],
  ["bulk beyond the limit", ascii("$536870913\r\nxx"), 1],
  ["endless line", ascii("+" + "x".repeat(300_000)), 1],
  ["garbage type byte", ascii("?garbage\r\n"), 1],
];

const GENEROUS: RespDecoderOptions = {
  maxDepth: 1_000_000,
  maxAggregateLength: 2 ** 31,
  maxBulkLength: 2 ** 31,
  maxLineLength: 1_048_576,
};

/**
 * This process's peak RSS in KiB: Linux's VmHWM (getrusage's maxRSS would also count the parent's
 * memory, copied at fork), or the current RSS where /proc is missing.
 */
function peakRssKiB(): number {
  try {
    const hwm = /VmHWM:\s*(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    if (hwm) return Number(hwm[1]);
  } catch {
    // Not Linux.
  }
  return Math.round(process.memoryUsage().rss / 1024);
}

const CHUNK = 64 * 1024;
const results: Record<string, string> = {};
const kept: RespDecoder[] = []; // decoders stay alive, as open connections would
for (const [limitsName, options] of [["default", {}], ["generous", GENEROUS]] as const) {
  for (const [name, bytes, connections] of inputs) {
    let outcome = "partial";
    for (let c = 0; c < connections; c++) {
      const decoder = new RespDecoder(() => {
        outcome = "replied";
      }, options);
      kept.push(decoder);
      try {
        for (let at = 0; at < bytes.length; at += CHUNK) {
          decoder.feed(bytes.subarray(at, at + CHUNK));
        }
      } catch (error) {
        outcome = `${(error as Error).name}: ${(error as Error).message}`;
        break;
      }
    }
    results[`${limitsName}: ${name}`] = outcome;
  }
}
console.log(JSON.stringify({ results, maxRssKiB: peakRssKiB(), decoders: kept.length }));
