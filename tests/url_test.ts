import { test } from "node:test";
import assert from "node:assert/strict";
import { asUri, createBackend, maskUrl, parseRedisUrl } from "../mod.ts";

test("parseRedisUrl() reads Celery's observed example", () => {
  const p = parseRedisUrl(
    "redis://:pa%40ss@h1:6380/2?socket_timeout=3&retry_on_timeout=true&max_connections=5&health_check_interval=10",
  );
  assert.equal(p.host, "h1");
  assert.equal(p.port, 6380);
  assert.equal(p.db, 2);
  assert.equal(p.password, "pa@ss");
  assert.equal(p.socketTimeout, 3);
  assert.equal(p.retryOnTimeout, true);
  assert.equal(p.maxConnections, 5);
  assert.equal(p.healthCheckInterval, 10);
});

test("parseRedisUrl() applies Celery's defaults and db rules", () => {
  assert.deepEqual(
    [parseRedisUrl("redis://").host, parseRedisUrl("redis://").port, parseRedisUrl("redis://").db],
    ["localhost", 6379, 0],
  );
  assert.equal(parseRedisUrl("redis://h//3").db, 3);
  assert.equal(parseRedisUrl("redis://h/").db, 0);
  assert.equal(parseRedisUrl("redis://user:pw@h").username, "user");
  assert.equal(parseRedisUrl("redis://[::1]:7000/1").host, "::1");
  const sock = parseRedisUrl("redis+socket:///tmp/redis.sock?virtual_host=4");
  assert.equal(sock.path, "/tmp/redis.sock");
  assert.equal(sock.db, 4);
});

test("parseRedisUrl() refuses bad input without echoing the password", () => {
  assert.throws(
    () => parseRedisUrl("redis://:topsecret@h/notanumber"),
    (e: unknown) =>
      e instanceof TypeError && /database is a number/.test(e.message) &&
      !e.message.includes("topsecret"),
  );
  assert.throws(
    () => parseRedisUrl("redis://:topsecret@h:99999999/0"),
    (e: unknown) => e instanceof TypeError && !e.message.includes("topsecret"),
  );
  assert.throws(() => parseRedisUrl("redis://h/0?socket_timeout=abc"), TypeError);
});

test("createBackend() refuses unknown schemes with a clear, password-free message", () => {
  assert.throws(
    () => createBackend("mongodb://:topsecret@h/0"),
    (e: unknown) =>
      e instanceof TypeError && /Unsupported result backend URL/.test(e.message) &&
      !e.message.includes("topsecret"),
  );
  assert.throws(() => createBackend("not a url"), TypeError);
});

test("maskUrl() masks like Celery's as_uri()", () => {
  assert.equal(maskUrl("redis://:pa%40ss@h1:6380/2?socket_timeout=3"), "redis://:**@h1:6380/2");
  assert.equal(maskUrl("redis://localhost"), "redis://localhost/");
  assert.equal(maskUrl("redis://"), "redis://");
  assert.equal(
    maskUrl("sentinel://:pw@s1:26379/1;sentinel://s2:26380/1"),
    "sentinel://:**@s1:26379/1;sentinel://s2:26380/1",
  );
  assert.equal(maskUrl("redis+socket:///tmp/redis.sock"), "socket:///tmp/redis.sock");
  assert.equal(maskUrl("redis://:pw@h/0", true), "redis://:pw@h/0");
});

test("parseRedisUrl() reads rediss:// TLS parameters, decoding them twice as Celery does", () => {
  const p = parseRedisUrl(
    "rediss://h:6390/1?ssl_cert_reqs=CERT_OPTIONAL&ssl_ca_certs=%252Fetc%252Fca.pem" +
      "&ssl_certfile=/c.pem&ssl_keyfile=/k.pem&ssl_check_hostname=false",
  );
  assert.deepEqual(p.ssl, {
    certReqs: "optional",
    caCerts: "/etc/ca.pem",
    certfile: "/c.pem",
    keyfile: "/k.pem",
    checkHostname: false,
  });
  assert.throws(() => parseRedisUrl("rediss://h/0"), /must have parameter ssl_cert_reqs/);
  assert.throws(() => parseRedisUrl("redis://h/0?ssl_cert_reqs=none"), /scheme rediss:\/\//);
  assert.throws(
    () => parseRedisUrl("redis://h/0", { ssl: { sslCertReqs: "required" } }),
    /scheme rediss:\/\//,
  );
  assert.equal(
    parseRedisUrl("rediss://h/0", { ssl: { sslCertReqs: "none" } }).ssl?.certReqs,
    "none",
  );
});

test("parseRedisUrl() reads sentinel:// chunks: db and credentials from the first", () => {
  const p = parseRedisUrl("sentinel://u:pw@s1:26379/2?socket_timeout=9;sentinel://s2:26380/5");
  assert.equal(p.backend, "SentinelBackend");
  assert.deepEqual(p.sentinels, [{ host: "s1", port: 26379 }, { host: "s2", port: 26380 }]);
  assert.equal(p.db, 2);
  assert.equal(p.username, "u");
  assert.equal(p.password, "pw");
  // As in Celery, a chunk's query configures nothing.
  assert.equal(p.socketTimeout, undefined);
  assert.equal(parseRedisUrl("sentinel://s1/0").sentinels?.[0]?.port, 6379);
});

test("parseRedisUrl() converts query values as redis-py does", () => {
  const p = parseRedisUrl(
    "redis://h/0?retry_on_timeout=off&socket_keepalive=No&socket_timeout=1_5&db=%33&foo=bar",
  );
  assert.equal(p.retryOnTimeout, true); // only 0/F/FALSE/N/NO are false
  assert.equal(p.socketKeepalive, false);
  assert.equal(p.socketTimeout, 15);
  assert.equal(p.db, 3);
  assert.equal(p.query.foo, "bar");
  assert.throws(() => parseRedisUrl("redis://h/0?max_connections=2.5"), /max_connections/);
});

test("parseRedisUrl() refuses socket:// and case-changed schemes, as Celery's by_url does", () => {
  assert.throws(() => parseRedisUrl("socket:///tmp/r.sock"), /redis\+socket:\/\//);
  assert.throws(() => parseRedisUrl("REDIS://h/0"), /case-sensitive/);
  assert.equal(parseRedisUrl("redis+socket:///tmp/r.sock").path, "/tmp/r.sock");
  assert.equal(parseRedisUrl("redis+socket://host/r.sock").path, "/r.sock");
});

test("asUri() is Celery's as_uri(): re-quoted parts, no query, Sentinel chunk by chunk", () => {
  assert.equal(asUri("redis://User:p%2Fw@Host.Example/3?x=1"), "redis://User:**@host.example/3");
  assert.equal(asUri("redis://[::1]:7000/1"), "redis://%3A%3A1:7000/1");
  assert.equal(
    asUri("redis+socket:///tmp/r.sock?virtual_host=1", true),
    "socket:///tmp/r.sock?virtual_host=1",
  );
  assert.equal(asUri("redis://h:0/1"), "redis://h/1");
  assert.equal(
    asUri("sentinel://:a@s1:1/0;sentinel://:b@s2:2/0"),
    "sentinel://:**@s1:1/0;sentinel://:**@s2:2/0",
  );
  assert.equal(maskUrl("https://user:token@example.com/x?y=1"), "https://user:**@example.com/x");
  assert.equal(maskUrl("not a url :secret@"), "**@");
});

test("parse errors never show the password", () => {
  for (
    const url of [
      "redis://:hunter2@h:99999/0",
      "redis://:hunter2@[::1/0",
      "redis://:hunter2@h/abc",
      "rediss://:hunter2@h/0",
      "redis://:hunter2@h/0?ssl_ca_certs=x",
      "redis://:hunter2@ｈ℀ost/0",
    ]
  ) {
    assert.throws(
      () => parseRedisUrl(url),
      (e: unknown) => e instanceof TypeError && !e.message.includes("hunter2"),
      url,
    );
  }
});

test("maskUrl() hides a password with unescaped / ? # ; @, where Celery's parse misreads it", () => {
  assert.equal(maskUrl("redis://:pa/ss@h/0"), "redis://**@h/0");
  assert.equal(maskUrl("redis://:12?ss@h/0"), "redis://**@h/0");
  assert.equal(maskUrl("redis://u:a#b@h:1/2?socket_timeout=3"), "redis://**@h:1/2");
  assert.equal(
    maskUrl("sentinel://:12;b@h1:1/0;sentinel://h2:2/0"),
    "sentinel://**@h1:1/0;sentinel://h2:2/0",
  );
  // A query value may hold an @ (a file name): Celery's masking still applies.
  assert.equal(maskUrl("rediss://:pw@h/0?ssl_ca_certs=/etc/a@b.pem"), "rediss://:**@h/0");
});

test("parseRedisUrl() refuses an @ after the host rather than read a password as host or db", () => {
  for (const url of ["redis://:12?ss@h/0", "redis://:123/def@h/0", "redis://:a#b@h/0"]) {
    assert.throws(
      () => parseRedisUrl(url),
      (e: unknown) =>
        e instanceof TypeError && /percent-encode the password/.test(e.message) &&
        !/12|123|def|ss\b|a#b/.test(e.message.replace(/redis:\/\/\*\*@h\/0/, "")),
      url,
    );
  }
});

test("parse errors quote a piece of the URL only when it cannot be part of the password", () => {
  assert.throws(() => parseRedisUrl("redis://:pw@h/db1"), /'db1'/);
  assert.throws(
    () => parseRedisUrl("redis://:db1@h/db1"),
    (e: unknown) => e instanceof TypeError && !e.message.includes("'db1'"),
  );
  assert.throws(() => parseRedisUrl("redis://:pw@h:abc/0"), /'abc'/);
  assert.throws(
    () => parseRedisUrl("redis://:abc@h:abc/0"),
    (e: unknown) => e instanceof TypeError && !e.message.includes("'abc'"),
  );
});

test("maskUrl() of a URL Celery's parser refuses masks it without recursing into asUri()", () => {
  // The NFKC host check fails inside as_uri(); masking must not call asUri() again for the message.
  assert.equal(maskUrl("redis://:hunter2@ｈ℀ost/0"), "redis://**@ｈ℀ost/0");
  assert.throws(() => asUri("redis://:hunter2@ｈ℀ost/0"), /Invalid Redis URL redis:\/\/\*\*@/);
});
