// Counts the test runs of scripts/test.sh and prints the summary: every failed test with the first
// lines of what it reported (CI keeps only the tail of the output), every skipped test (with the
// skip reasons tests/_env.ts recorded), then the last line "N passed, N failed, N skipped".
//
//   node scripts/count_results.mjs <skip-log> <runner> <junit.xml> <log> <exit status> [...]
//
// Per runner, the JUnit report's <testcase> elements are counted: failed when they hold a
// <failure> or <error>, skipped when they hold <skipped>. Without a report (a crash, or killed at
// the time limit) the runner's log is counted instead, plus one failure. Load errors (a test file
// that throws at import) are no <testcase> under Deno and Bun, but the runners' summaries count
// them (Deno "| N failed", Bun "N fail", Node "ℹ fail N"): the larger count wins. Node's report
// names no test file; its skip reasons come from the report itself. A runner that exits non-zero although
// nothing failed adds one failure. With CI=true a skip counts as a failure.
import { readFileSync } from "node:fs";

const [skipLog, ...runs] = process.argv.slice(2);
const inCI = process.env.CI === "true";
const ansi = new RegExp(String.raw`\u001b\[[0-9;]*m`, "g"); // terminal colours

function read(path) {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

const unescape = (s) =>
  s.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">")
    .replace(/&#(x[0-9a-f]+|\d+);/gi, (_, n) => String.fromCodePoint(Number(`0${n}`)))
    .replace(/&amp;/g, "&");

/** "tests/x_test.ts" from Deno's "./tests/x_test.ts" or Bun's "x_test.ts" (relative to root). */
function testFile(path) {
  const name = path.replace(/^.*\//, "");
  return name ? `tests/${name}` : "?";
}

/** Skip reasons recorded by requirement() in tests/_env.ts, by test file. */
const reasons = new Map();
for (const line of (read(skipLog) ?? "").split("\n")) {
  if (!line.trim()) continue;
  const { file, reason } = JSON.parse(line);
  const set = reasons.get(file) ?? new Set();
  set.add(reason);
  reasons.set(file, set);
}

// CI shows only the tail of the output, so each failure carries a few lines saying what failed.
const DETAIL_LINES = 6;
const DETAIL_WIDTH = 200;

function clip(lines) {
  return lines.map((line) => line.trimEnd()).filter((line) => line.trim() !== "")
    .slice(0, DETAIL_LINES)
    .map((line) => (line.length > DETAIL_WIDTH ? `${line.slice(0, DETAIL_WIDTH)}…` : line));
}

/** The first lines of a JUnit <failure>/<error>: its text, else its message attribute. */
function failureDetail(body) {
  const found = /<(failure|error)\b([^>]*?)(?:\/>|>([\s\S]*?)<\/\1>)/.exec(body);
  if (!found) return [];
  const message = /\bmessage="([^"]*)"/.exec(found[2])?.[1];
  const text = unescape(found[3] ?? message ?? "");
  return clip(text.split("\n"));
}

/**
 * Errors a runner reported outside any test (an import that threw, an uncaught exception between
 * tests): each "error:"/"Uncaught" line of its log and the stack lines after it, a few at most.
 */
function uncaughtErrors(log) {
  const lines = log.split("\n");
  const found = [];
  for (let i = 0; i < lines.length && found.length < DETAIL_LINES; i++) {
    if (!/^(?:error: |Uncaught |# Unhandled error)/.test(lines[i].trim())) continue;
    found.push(lines[i]);
    for (let j = i + 1; j <= i + 2 && /^\s+at /.test(lines[j] ?? ""); j++) found.push(lines[j]);
  }
  return clip(found);
}

function count(runner, xmlPath, logPath, status) {
  const result = { passed: 0, failed: 0, skipped: [], failures: [] };
  // A report cut short (Node 20's JUnit file is left at its opening tags when --test-force-exit
  // ends the process) counts as none: the runner's log is counted instead.
  const report = read(xmlPath);
  const xml = report?.includes("</testsuites>") ? report : undefined;
  if (report !== undefined && xml === undefined) {
    console.error(`[test] ${runner}: its JUnit report is incomplete; counting its log`);
  }
  const log = (read(logPath) ?? "").replace(ansi, "");
  if (xml !== undefined) {
    const testcase = /<testcase\b([^>]*?)(?:\/>|>([\s\S]*?)<\/testcase>)/g;
    for (const [, attrs, body = ""] of xml.matchAll(testcase)) {
      const attr = (key) => unescape(new RegExp(`\\b${key}="([^"]*)"`).exec(attrs)?.[1] ?? "");
      // Node 20's JUnit names no file (classname "test") but keeps the skip reason as message.
      const file = attr("file") || (attr("classname") === "test" ? "" : attr("classname"));
      const test = { file: file ? testFile(file) : "?", name: attr("name") };
      const reason = /<skipped\b[^>]*\bmessage="([^"]*)"/.exec(body)?.[1];
      if (reason) test.reason = unescape(reason);
      if (/<(failure|error)\b/.test(body)) {
        result.failed++;
        test.detail = failureDetail(body);
        result.failures.push(test);
      } else if (/<skipped\b/.test(body)) result.skipped.push(test);
      else result.passed++;
    }
  } else {
    // Node's spec lists its failures again after "failing tests:"; count the first listing.
    for (const line of log.split(/^✖ failing tests:$/m)[0].split("\n")) {
      if (/^\s*﹣ /.test(line)) {
        result.skipped.push({ file: "?", name: line.trim() });
      } else if (/ \.\.\. ok\b/.test(line) || /^\(pass\) /.test(line) || /^\s*✔ /.test(line)) {
        result.passed++;
      } else if (/ \.\.\. FAILED\b/.test(line) || /^\(fail\) /.test(line) || /^\s*✖ /.test(line)) {
        result.failed++;
        result.failures.push({ file: "?", name: line.trim() });
      } else if (/ \.\.\. ignored\b/.test(line) || /^\(skip\) /.test(line)) {
        result.skipped.push({ file: "?", name: line.trim() });
      }
    }
    // Node's spec also marks finished suites with ✔; its own summary counts tests only.
    const nodePass = [...log.matchAll(/^ℹ pass (\d+)$/gm)].pop();
    if (nodePass) result.passed = Number(nodePass[1]);
  }
  // A run that ended normally with its own summary was counted from its log, not cut short.
  const summarized = status === 0 && /^ℹ tests \d+$/m.test(log);
  const deno = [...log.matchAll(/\| (\d+) passed(?: \([^)]*\))? \| (\d+) failed/g)].pop();
  const bunFail = [...log.matchAll(/^\s*(\d+) fail\s*$/gm)].pop();
  const bunErr = [...log.matchAll(/^\s*(\d+) errors?\s*$/gm)].pop();
  const nodeFail = [...log.matchAll(/^ℹ fail (\d+)$/gm)].pop();
  const summary = deno
    ? Number(deno[2])
    : nodeFail
    ? Number(nodeFail[1])
    : bunFail
    ? Math.max(Number(bunFail[1]), bunErr ? Number(bunErr[1]) : 0)
    : 0;
  if (summary > result.failed) {
    console.error(
      `[test] ${runner}: its summary reports ${summary} failed, the report ${result.failed}`,
    );
    result.failures.push({
      file: "?",
      name: `${summary - result.failed} load error(s), see its log`,
      detail: uncaughtErrors(log),
    });
    result.failed = summary;
  }
  if ((xml === undefined && !summarized) || (status !== 0 && result.failed === 0)) {
    const why = status === 124 || status === 137 ? "hit the time limit" : `exit status ${status}`;
    const what = xml !== undefined ? "its report shows no failure" : "no JUnit report";
    result.failed++;
    // What it printed last: under a time limit, the test that was running.
    const last = clip(log.split("\n").filter((line) => line.trim() !== "").slice(-3));
    result.failures.push({ file: "?", name: `${runner} ${why}, ${what}`, detail: last });
  }
  return result;
}

let passed = 0, failed = 0, skipped = 0;
const lines = [];
for (let i = 0; i < runs.length; i += 4) {
  const [runner, xml, log, status] = runs.slice(i, i + 4);
  const r = count(runner, xml, log, Number(status));
  console.error(
    `[test] ${runner}: ${r.passed} passed, ${r.failed} failed, ${r.skipped.length} skipped`,
  );
  passed += r.passed;
  failed += r.failed;
  for (const t of r.failures) {
    lines.push(`FAILED  ${runner}  ${t.file}: ${t.name}`);
    for (const line of t.detail ?? []) lines.push(`        ${line}`);
  }
  for (const t of r.skipped) {
    const why = [...(reasons.get(t.file) ?? [])].join("; ") || t.reason || "no reason recorded";
    lines.push(
      `${
        inCI ? "SKIPPED (a failure under CI)" : "SKIPPED"
      }  ${runner}  ${t.file}: ${t.name} (${why})`,
    );
    if (inCI) failed++;
    else skipped++;
  }
}
for (const line of lines) console.log(line);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exitCode = failed > 0 ? 1 : 0;
