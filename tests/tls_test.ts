// TLS against a real redis-server with a TLS port and a CA generated here: verification on by
// default, a custom CA, mutual TLS, ssl_check_hostname=false, ssl_cert_reqs=none, clear errors
// for an unknown issuer, a host name mismatch and a missing client certificate; the shared
// backend, consumer and chord suites run over TLS. Same file under Deno and Bun.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBackend, RedisConnectionError, tcpDriver, type TcpTlsOptions } from "../mod.ts";
import { defineBackendConformance } from "./_backend_conformance.ts";
import { defineChordConformance } from "./_chord_conformance.ts";
import { defineConsumerConformance } from "./_consumer_conformance.ts";
import { flushedTcpDriver } from "./_drivers.ts";
import { type RedisServer, startRedisServer } from "./_redis_server.ts";
import { requirement } from "./_env.ts";

const openssl = spawnSync("openssl", ["version"], { encoding: "utf8" }).status === 0;
const redisTls = spawnSync("redis-server", ["--version"], { encoding: "utf8" }).status === 0;
const skip = requirement(openssl && redisTls, "openssl and redis-server");

let dir = "";
let pki: Record<
  "ca" | "caKey" | "rogueCa" | "good" | "goodKey" | "wrong" | "wrongKey" | "client" | "clientKey",
  string
>;
/** Its certificate names 127.0.0.1 and localhost; a client certificate is checked if given. */
let good: { server: RedisServer; tlsPort: number } | undefined;
/** The same certificate; requires a client certificate (mutual TLS). */
let mutual: { server: RedisServer; tlsPort: number } | undefined;
/** Does not ask for a client certificate; its certificate names only wrong.example. */
let misnamed: { server: RedisServer; tlsPort: number } | undefined;

function run(args: string[]): void {
  const result = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
}

/** A key and a certificate signed by the CA, with the given extensions. */
function issue(name: string, subject: string, extensions: string): void {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  run([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    subject,
  ]);
  run([
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    `${name}.crt`,
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
  ]);
}

async function tlsServer(certName: string, authClients: "yes" | "no" | "optional") {
  const server = await startRedisServer({
    tls: [
      "--tls-cert-file",
      join(dir, `${certName}.crt`),
      "--tls-key-file",
      join(dir, `${certName}.key`),
      "--tls-ca-cert-file",
      join(dir, "ca.crt"),
      "--tls-auth-clients",
      authClients,
    ],
  });
  return { server, tlsPort: server.tlsPort! };
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), "redis-tls-"));
  run([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "2",
    "-subj",
    "/CN=Test CA",
  ]);
  run([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "rogue.key",
    "-out",
    "rogue.crt",
    "-days",
    "2",
    "-subj",
    "/CN=Rogue CA",
  ]);
  issue("good", "/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  issue("wrong", "/CN=wrong.example", "subjectAltName=DNS:wrong.example\n");
  issue("client", "/CN=celery-client", "extendedKeyUsage=clientAuth\n");
  const file = (name: string) => join(dir, name);
  pki = {
    ca: file("ca.crt"),
    caKey: file("ca.key"),
    rogueCa: file("rogue.crt"),
    good: file("good.crt"),
    goodKey: file("good.key"),
    wrong: file("wrong.crt"),
    wrongKey: file("wrong.key"),
    client: file("client.crt"),
    clientKey: file("client.key"),
  };
  good = await tlsServer("good", "optional");
  mutual = await tlsServer("good", "yes");
  misnamed = await tlsServer("wrong", "no");
});

after(async () => {
  await good?.server[Symbol.asyncDispose]();
  await mutual?.server[Symbol.asyncDispose]();
  await misnamed?.server[Symbol.asyncDispose]();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function mutualTls(): TcpTlsOptions {
  return { caFile: pki.ca, certFile: pki.client, keyFile: pki.clientKey };
}

if (!skip) {
  const overTls = (db: number) =>
    flushedTcpDriver(() => ({ port: good!.tlsPort, tls: { caFile: pki.ca }, db }));
  defineBackendConformance("tls", overTls(3));
  defineConsumerConformance("tls", overTls(4));
  defineChordConformance("tls", overTls(5));
} else {
  // Listed among the skipped tests rather than left out silently.
  test("tls: the backend, consumer and chord conformance suites over TLS", { skip }, () => {});
}

test("createBackend() speaks TLS from a Celery rediss:// URL: custom CA, client certificate", {
  skip,
}, async () => {
  const q = (path: string) => encodeURIComponent(path);
  const url = `rediss://127.0.0.1:${mutual!.tlsPort}/5?ssl_cert_reqs=required` +
    `&ssl_ca_certs=${q(pki.ca)}&ssl_certfile=${q(pki.client)}&ssl_keyfile=${q(pki.clientKey)}`;
  await using backend = createBackend(url);
  await backend.markAsDone("tls-1", { over: "tls" });
  assert.deepEqual((await backend.getTaskMeta("tls-1")).result, { over: "tls" });
  // The plain port of the same server sees the same data: it really went through TLS to it.
  await using plain = createBackend(`redis://127.0.0.1:${mutual!.server.port}/5`);
  assert.equal((await plain.getTaskMeta("tls-1")).status, "SUCCESS");
});

test("createBackend() takes Celery's redis_backend_use_ssl and PEM text overrides", {
  skip,
}, async () => {
  await using fromSettings = createBackend(`rediss://127.0.0.1:${mutual!.tlsPort}/6`, {
    redisBackendUseSsl: {
      sslCertReqs: "CERT_REQUIRED",
      sslCaCerts: pki.ca,
      sslCertfile: pki.client,
      sslKeyfile: pki.clientKey,
    },
  });
  await fromSettings.markAsDone("tls-2", 2);
  await using fromPem = createBackend(
    `rediss://127.0.0.1:${mutual!.tlsPort}/6?ssl_cert_reqs=required`,
    {
      connection: {
        tls: {
          ca: readFileSync(pki.ca, "utf8"),
          cert: readFileSync(pki.client, "utf8"),
          key: readFileSync(pki.clientKey, "utf8"),
        },
      },
    },
  );
  assert.equal((await fromPem.getTaskMeta("tls-2")).result, 2);
});

async function refusal(options: Parameters<typeof tcpDriver>[0]): Promise<Error> {
  await using driver = tcpDriver({ connectTimeout: 5000, ...options });
  try {
    await driver.send(["PING"]);
  } catch (error) {
    return error as Error;
  }
  throw new Error("the connection was accepted");
}

test("tcpDriver() verifies certificates by default: an unknown issuer is refused clearly", {
  skip,
}, async () => {
  // No CA given: the runtime's roots do not know the test CA.
  const untrusted = await refusal({ port: misnamed!.tlsPort, tls: true });
  assert.ok(untrusted instanceof RedisConnectionError, String(untrusted));
  assert.match(untrusted.message, /TLS connection to Redis at 127\.0\.0\.1:\d+ failed/);
  assert.match(untrusted.message, /issuer|self.signed|certificate/i);
  // A CA that did not sign the server's certificate.
  const rogue = await refusal({
    port: mutual!.tlsPort,
    tls: { caFile: pki.rogueCa, certFile: pki.client, keyFile: pki.clientKey },
  });
  assert.ok(rogue instanceof RedisConnectionError, String(rogue));
  assert.match(rogue.message, /issuer|self.signed|certificate/i);
});

test("tcpDriver() refuses a certificate issued for another host name", { skip }, async () => {
  const error = await refusal({ port: misnamed!.tlsPort, tls: { caFile: pki.ca } });
  assert.ok(error instanceof RedisConnectionError, String(error));
  assert.match(error.message, /TLS connection to Redis at 127\.0\.0\.1:\d+ failed/);
  assert.match(error.message, /not valid for name|altnames|host/i);
});

test("ssl_check_hostname=false checks the chain but not the host name", { skip }, async () => {
  const base = `rediss://127.0.0.1:${misnamed!.tlsPort}/0`;
  await using relaxed = createBackend(
    `${base}?ssl_cert_reqs=required&ssl_check_hostname=false&ssl_ca_certs=${
      encodeURIComponent(pki.ca)
    }`,
  );
  assert.equal((await relaxed.getTaskMeta("nothing")).status, "PENDING");
  // The chain is still checked.
  const rogue = await refusal({
    port: misnamed!.tlsPort,
    tls: { caFile: pki.rogueCa, checkHostname: false },
  });
  assert.match(rogue.message, /issuer|self.signed|certificate/i);
});

test("ssl_cert_reqs=none accepts any certificate, as Celery's CERT_NONE", { skip }, async () => {
  await using backend = createBackend(
    `rediss://127.0.0.1:${misnamed!.tlsPort}/0?ssl_cert_reqs=none`,
  );
  await backend.markAsDone("tls-none", "ok");
  assert.equal((await backend.getTaskMeta("tls-none")).result, "ok");
});

test("mutual TLS: a server that requires a client certificate takes ours, refuses none", {
  skip,
}, async () => {
  await using driver = tcpDriver({ port: mutual!.tlsPort, tls: mutualTls() });
  assert.equal(await driver.send(["PING"]), "PONG");
  const error = await refusal({ port: mutual!.tlsPort, tls: { caFile: pki.ca } });
  assert.ok(error instanceof RedisConnectionError, String(error));
});

test("a refused certificate fails at once, without the retry policy's retries", {
  skip,
}, async () => {
  await using backend = createBackend(
    `rediss://127.0.0.1:${misnamed!.tlsPort}/0?ssl_cert_reqs=required&ssl_ca_certs=${
      encodeURIComponent(pki.ca)
    }`,
  );
  const started = Date.now();
  await assert.rejects(backend.markAsDone("x", 1), RedisConnectionError);
  assert.ok(Date.now() - started < 2000, "a certificate error is not worth retrying");
});

test("a missing certificate file is reported with its path", { skip }, async () => {
  const error = await refusal({
    port: mutual!.tlsPort,
    tls: { caFile: join(dir, "does-not-exist.pem") },
  });
  assert.ok(error instanceof RedisConnectionError, String(error));
  assert.match(error.message, /does-not-exist\.pem/);
});
