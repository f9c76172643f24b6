// parseRedisUrl() and asUri() held against real Python Celery's own parser: every URL of the table
// is given to Celery 5.2.6 (redis-py 4.3) and Celery 5.6.3 (redis-py 8), one Python process per
// version, which builds the backend exactly as `result_backend = <url>` would (by_url + the backend
// class) and reports connparams and as_uri(); the TypeScript parse must agree on every field it
// models, and must refuse exactly the URLs Celery refuses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { asUri, parseRedisUrl } from "../src/connection/url.ts";
import type { RedisBackendSslOptions, RedisUrlParams } from "../src/connection/url.ts";
import { celeryPythons, requirement } from "./_env.ts";
import { celeryAvailable, type CeleryVersion, celeryVersions } from "./_celery.ts";

/** One URL, optionally with Celery settings (`conf`, snake_case as in Celery). */
interface Case {
  url: string;
  conf?: { redis_backend_use_ssl?: Record<string, string | boolean> };
  /** Only compare on these Celery versions (the versions disagree with each other). */
  versions?: CeleryVersion[];
}

const CASES: Case[] = [
  // plain redis://: defaults, db from the path, credentials, ports
  { url: "redis://" },
  { url: "redis://localhost" },
  { url: "redis://h" },
  { url: "redis://h/" },
  { url: "redis://h//3" },
  { url: "redis://h/3/" },
  { url: "redis://h/%31" },
  { url: "redis://h:6380" },
  { url: "redis://h:6380/2" },
  { url: "redis://h:0/1" },
  { url: "redis://h:/1" },
  {
    url:
      "redis://:pa%40ss@h1:6380/2?socket_timeout=3&retry_on_timeout=true&max_connections=5&health_check_interval=10",
  },
  { url: "redis://user:pw@h/1" },
  { url: "redis://user@h/1" },
  { url: "redis://:@h/1" },
  { url: "redis://User:p%2Fw@Host.Example/3" },
  { url: "redis://us%40er:p%3Aw%20x@h/0" },
  { url: "redis://:%FF@h/0" },
  { url: "redis://:p@ss@h/0" },
  { url: "redis://[::1]:7000/1" },
  { url: "redis://[fe80::1%25eth0]/0" },
  { url: "redis://[::ffff:1.2.3.4]:1/0" },
  { url: "redis://h/1;x" },
  { url: "redis://ｈost/0" },
  { url: "redis://héllo%C3%A9/0" },
  { url: "redis://h/0#frag" },
  { url: "redis://h/0?#frag" },
  // query parameters and their converters
  { url: "redis://h/0?socket_connect_timeout=2.5&socket_keepalive=yes" },
  { url: "redis://h/0?retry_on_timeout=off" },
  { url: "redis://h/0?retry_on_timeout=No" },
  { url: "redis://h/0?retry_on_timeout=0&socket_keepalive=f" },
  { url: "redis://h/0?db=4" },
  { url: "redis://h/1?virtual_host=4" },
  { url: "redis://h/0?foo=bar" },
  { url: "redis://h/0?a=1&a=2&b&c=" },
  { url: "redis://h/0?socket_timeout=+1_0" },
  { url: "redis://h/0?socket_timeout=1e1" },
  { url: "redis://h/0?socket_timeout=%31.5" },
  { url: "redis://h/0?socket_timeout=inf" },
  { url: "redis://h/0?max_connections=-1" },
  { url: "redis://h/0?health_check_interval=+7" },
  { url: "redis://h/0?x+y=a+b" },
  // backend+scheme forms
  { url: "redis+foo://h/2" },
  { url: "redis+redis://h/2" },
  // rediss:// and TLS settings
  { url: "rediss://h/0?ssl_cert_reqs=required" },
  { url: "rediss://h:6390/1?ssl_cert_reqs=CERT_NONE" },
  {
    url:
      "rediss://h/0?ssl_cert_reqs=optional&ssl_ca_certs=%252Ftmp%252Fca.pem&ssl_certfile=/c.pem&ssl_keyfile=/k.pem",
  },
  { url: "rediss://h/0?ssl_cert_reqs=none&ssl_check_hostname=false" },
  { url: "rediss://h/0?ssl_cert_reqs=CERT_REQUIRED&ssl_check_hostname=true" },
  { url: "rediss://h/0", conf: { redis_backend_use_ssl: { ssl_cert_reqs: "none" } } },
  {
    url: "rediss://h/0?ssl_cert_reqs=required",
    conf: { redis_backend_use_ssl: { ssl_cert_reqs: "none", ssl_ca_certs: "/x.pem" } },
  },
  // unix sockets
  { url: "redis+socket:///tmp/redis.sock" },
  { url: "redis+socket:///tmp/redis.sock?virtual_host=3" },
  { url: "redis+socket:///tmp/redis.sock?virtual_host=/3" },
  { url: "redis+socket:///tmp/redis.sock?virtual_host=3&db=5" },
  { url: "redis+socket://localhost/tmp/x.sock" },
  { url: "redis+socket:///tmp/x.sock?socket_timeout=5&socket_connect_timeout=1" },
  { url: "redis+socket://:pw@/tmp/x.sock" },
  { url: "rediss+socket:///tmp/x.sock" },
  // Sentinel
  { url: "sentinel://s1:26379/1;sentinel://s2:26380/1" },
  { url: "sentinel://:pw@s1:26379/1;sentinel://s2:26380/1" },
  { url: "sentinel://s1/2" },
  { url: "sentinel://h1:1/0?socket_timeout=5;sentinel://h2:2/3" },
  { url: "sentinel://:pw@h1:1/2", conf: { redis_backend_use_ssl: { ssl_cert_reqs: "required" } } },
  // Sentinel user names reach the master only from Celery 5.6.1.
  { url: "sentinel://u:p@h1:1/2;sentinel://h2:2", versions: ["5.6"] },

  // refused
  { url: "REDIS://h/0" },
  { url: "Redis://h/0" },
  { url: "redis:/h/0" },
  { url: "socket:///tmp/redis.sock" },
  { url: "redis://h/abc" },
  { url: "redis://h/1/2" },
  { url: "redis://h//" },
  { url: "redis://h/-" },
  { url: "redis://h/0?db=x" },
  { url: "redis://h/0?socket_timeout=abc" },
  { url: "redis://h/0?max_connections=1.5" },
  { url: "redis://h/0?health_check_interval=2.5" },
  { url: "redis://h/0?socket_connect_timeout=1__0" },
  { url: "redis://:secret@h:99999/0" },
  { url: "redis://:secret@h:abc/0" },
  { url: "redis://h:-1/0" },
  { url: "redis://h:+1/0" },
  { url: "redis://[::1/0" },
  { url: "redis://::1]/0" },
  { url: "redis://[1.2.3.4]/0" },
  { url: "redis://[zz::1]/0" },
  { url: "redis://[1::2::3]/0" },
  { url: "redis://::1/0" },
  { url: "redis://:secret@ｈ℀ost/0" },
  { url: "redis://h/0?ssl_cert_reqs=required" },
  { url: "redis://h/0?ssl_ca_certs=/x.pem" },
  { url: "redis://h/0", conf: { redis_backend_use_ssl: { ssl_cert_reqs: "none" } } },
  { url: "rediss://:secret@h/0" },
  { url: "rediss://h/0?ssl_cert_reqs=REQUIRED" },
  { url: "rediss://h/0?ssl_ca_certs=/ca.pem" },
  { url: "sentinel://h:1/0", conf: { redis_backend_use_ssl: { ssl_ca_certs: "/x" } } },
  { url: "redis+socket://" },
  { url: "redis://h/0?protocol=x", versions: ["5.6"] },
];

// The Python side: one process per Celery version, every case on stdin, one JSON answer per case.
const PROBE = String.raw`
import json, logging, ssl, sys, warnings
warnings.simplefilter("ignore")
logging.disable(logging.CRITICAL)
from celery import Celery
from celery.app.backends import by_url

def norm(v):
    if isinstance(v, type):
        return "class:" + v.__name__
    if isinstance(v, ssl.VerifyMode):
        return int(v)
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [norm(x) for x in v]
    if isinstance(v, float):
        return {"float": repr(v)}
    return v

def run(case):
    app = Celery("probe", set_as_current=False)
    app.conf.update(case.get("conf") or {})
    try:
        cls, url = by_url(case["url"], app.loader)
        backend = cls(app=app, url=url)
        return {"ok": True, "backend": cls.__name__, "connparams": norm(dict(backend.connparams)),
                "as_uri": backend.as_uri(), "as_uri_with_password": backend.as_uri(True)}
    except Exception as exc:
        return {"ok": False, "error": "%s: %s" % (type(exc).__name__, str(exc).strip())}

json.dump([run(c) for c in json.load(sys.stdin)], sys.stdout)
`;

interface PythonAnswer {
  ok: boolean;
  error?: string;
  backend?: string;
  connparams?: Record<string, unknown>;
  as_uri?: string;
  as_uri_with_password?: string;
}

function askCelery(version: CeleryVersion): PythonAnswer[] {
  const run = spawnSync(celeryPythons[version], ["-c", PROBE], {
    input: JSON.stringify(CASES.map(({ url, conf }) => ({ url, conf }))),
    encoding: "utf8",
    timeout: 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`Celery ${version} probe failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as PythonAnswer[];
}

const CERT_REQS_NAMES = ["none", "optional", "required"];

function pyFloat(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const text = (value as { float: string }).float;
  return text === "inf" ? Infinity : text === "-inf" ? -Infinity : Number(text);
}

/** The fields both sides model, from Celery's connparams. */
function fromCelery(answer: PythonAnswer): Record<string, unknown> {
  const cp = answer.connparams!;
  const sentinel = answer.backend === "SentinelBackend";
  const connectionClass = String(cp.connection_class ?? "");
  const tls = /SSL/.test(connectionClass);
  const known = new Set([
    "host",
    "port",
    "db",
    "username",
    "password",
    "path",
    "max_connections",
    "socket_timeout",
    "socket_connect_timeout",
    "socket_keepalive",
    "retry_on_timeout",
    "health_check_interval",
    "client_name",
    "connection_class",
    "ssl_cert_reqs",
    "ssl_ca_certs",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_check_hostname",
    "hosts",
  ]);
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(cp)) {
    if (!known.has(key) && typeof value === "string") extra[key] = value;
  }
  return {
    backend: answer.backend,
    host: sentinel ? null : cp.host ?? null,
    port: sentinel ? null : cp.port ?? null,
    path: cp.path ?? null,
    db: cp.db,
    username: cp.username ?? null,
    password: cp.password ?? null,
    socketTimeout: pyFloat(cp.socket_timeout),
    socketConnectTimeout: pyFloat(cp.socket_connect_timeout),
    socketKeepalive: cp.socket_keepalive ?? null,
    retryOnTimeout: cp.retry_on_timeout ?? false,
    maxConnections: cp.max_connections ?? null,
    healthCheckInterval: cp.health_check_interval ?? null,
    ssl: tls
      ? {
        certReqs: CERT_REQS_NAMES[cp.ssl_cert_reqs as number],
        caCerts: cp.ssl_ca_certs ?? null,
        certfile: cp.ssl_certfile ?? null,
        keyfile: cp.ssl_keyfile ?? null,
        checkHostname: cp.ssl_check_hostname ?? null,
      }
      : null,
    sentinels: sentinel
      ? (cp.hosts as Record<string, unknown>[]).map((h) => [h.host, h.port])
      : null,
    extra,
    asUri: answer.as_uri,
    asUriWithPassword: answer.as_uri_with_password,
  };
}

const MODELLED_QUERY = new Set([
  "db",
  "virtual_host",
  "socket_timeout",
  "socket_connect_timeout",
  "socket_keepalive",
  "retry_on_timeout",
  "max_connections",
  "health_check_interval",
  "ssl_check_hostname",
  "ssl_cert_reqs",
  "ssl_ca_certs",
  "ssl_certfile",
  "ssl_keyfile",
  "protocol",
  "timeout",
  "socket_read_size",
  "ssl_min_version",
]);

/** The same fields from our parse (Celery's setting defaults filled in as Celery does). */
function fromOurs(p: RedisUrlParams, url: string, version: CeleryVersion): Record<string, unknown> {
  const sentinel = p.backend === "SentinelBackend";
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(p.query)) {
    if (!MODELLED_QUERY.has(key)) extra[key] = value;
  }
  return {
    backend: p.backend,
    host: sentinel || p.path !== undefined ? null : p.host,
    port: sentinel || p.path !== undefined ? null : p.port,
    path: p.path ?? null,
    db: p.db,
    // Celery < 5.6.1 does not pass a Sentinel user name to the master.
    username: sentinel && version === "5.2" ? null : p.username ?? null,
    password: p.password ?? null,
    socketTimeout: p.socketTimeout ?? 120, // redis_socket_timeout's default
    socketConnectTimeout: p.socketConnectTimeout ?? null,
    socketKeepalive: p.socketKeepalive ?? null,
    retryOnTimeout: p.retryOnTimeout ?? false,
    maxConnections: p.maxConnections ?? null,
    healthCheckInterval: p.healthCheckInterval ?? null,
    ssl: p.ssl
      ? {
        certReqs: p.ssl.certReqs,
        caCerts: p.ssl.caCerts ?? null,
        certfile: p.ssl.certfile ?? null,
        keyfile: p.ssl.keyfile ?? null,
        checkHostname: p.ssl.checkHostname ?? null,
      }
      : null,
    sentinels: p.sentinels ? p.sentinels.map((s) => [s.host, s.port]) : null,
    extra,
    asUri: asUri(url),
    asUriWithPassword: asUri(url, true),
  };
}

function sslOption(conf: Case["conf"]): RedisBackendSslOptions | undefined {
  const ssl = conf?.redis_backend_use_ssl;
  if (!ssl) return undefined;
  const out: RedisBackendSslOptions = {};
  if (typeof ssl.ssl_cert_reqs === "string") out.sslCertReqs = ssl.ssl_cert_reqs;
  if (typeof ssl.ssl_ca_certs === "string") out.sslCaCerts = ssl.ssl_ca_certs;
  if (typeof ssl.ssl_certfile === "string") out.sslCertfile = ssl.ssl_certfile;
  if (typeof ssl.ssl_keyfile === "string") out.sslKeyfile = ssl.ssl_keyfile;
  return out;
}

function secretsIn(url: string): string[] {
  const match = /^[^:]+:\/\/[^:@/]*:([^@/]+)@/.exec(url);
  return match ? [decodeURIComponent(match[1]!)] : [];
}

for (const version of celeryVersions) {
  test(
    `parseRedisUrl() and asUri() agree with Celery ${version}'s parser on ${CASES.length} URLs`,
    {
      skip: requirement(celeryAvailable(version), `Python with Celery ${version}`),
    },
    () => {
      const answers = askCelery(version);
      const mismatches: string[] = [];
      CASES.forEach((c, i) => {
        if (c.versions && !c.versions.includes(version)) return;
        const answer = answers[i]!;
        let ours: RedisUrlParams | Error;
        try {
          ours = parseRedisUrl(c.url, { ssl: sslOption(c.conf) });
        } catch (error) {
          ours = error as Error;
        }
        const label = `${c.url}${c.conf ? ` ${JSON.stringify(c.conf)}` : ""}`;
        if (!answer.ok) {
          if (!(ours instanceof Error)) {
            mismatches.push(`${label}: Celery refuses (${answer.error}), we accept`);
          } else if (!(ours instanceof TypeError)) {
            mismatches.push(`${label}: refused with ${ours.name}, not TypeError`);
          } else if (secretsIn(c.url).some((s) => ours.message.includes(s))) {
            mismatches.push(`${label}: the error message shows the password`);
          }
          return;
        }
        if (ours instanceof Error) {
          mismatches.push(`${label}: Celery accepts, we refuse: ${ours.message}`);
          return;
        }
        const mine = fromOurs(ours, c.url, version);
        const theirs = fromCelery(answer);
        for (const key of Object.keys(theirs)) {
          try {
            assert.deepEqual(mine[key], theirs[key]);
          } catch {
            mismatches.push(
              `${label}: ${key} is ${JSON.stringify(mine[key])}, Celery says ${
                JSON.stringify(theirs[key])
              }`,
            );
          }
        }
      });
      assert.deepEqual(mismatches, []);
    },
  );
}
