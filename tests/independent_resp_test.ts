// The test-only RESP2 codec (tests/_independent_resp.ts) that the local Upstash server uses, checked
// against a real redis-server, byte by byte where it matters.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { encodeResp2, Resp2Decoder, type Resp2Reply } from "./_independent_resp.ts";
import { type RedisServer, startRedisServer } from "./_redis_server.ts";

let server: RedisServer;
before(async () => {
  server = await startRedisServer();
});
after(async () => {
  await server[Symbol.asyncDispose]();
});

/** Sends the commands in one write and collects one reply per command. */
function roundTrip(commands: (string | number | Uint8Array)[][]): Promise<Resp2Reply[]> {
  return new Promise((resolve, reject) => {
    const replies: Resp2Reply[] = [];
    const socket = connect(server.port, "127.0.0.1");
    // Feed one byte at a time: every reply must survive being split anywhere.
    const decoder = new Resp2Decoder((reply) => {
      replies.push(reply);
      if (replies.length === commands.length) {
        socket.destroy();
        resolve(replies);
      }
    }, (message) => new Error(message));
    socket.on("data", (chunk: Uint8Array) => {
      for (let i = 0; i < chunk.length; i++) decoder.feed(chunk.subarray(i, i + 1));
    });
    socket.once("error", reject);
    socket.once("connect", () => socket.write(encodeResp2(commands)));
  });
}

test("independent RESP2: encodes commands exactly as the RESP2 spec writes them", () => {
  assert.equal(
    encodeResp2([["SET", "k", 12], ["GET", new Uint8Array([0xff, 0x0d, 0x0a])]]).toString("latin1"),
    "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n12\r\n*2\r\n$3\r\nGET\r\n$3\r\n\xff\r\n\r\n",
  );
});

test("independent RESP2: decodes status, integer, bulk, nil, arrays and errors from redis-server", async () => {
  const bytes = new Uint8Array(256).map((_, i) => i);
  const [ok, got, missing, n, list, empty, error, nested] = await roundTrip([
    ["SET", "bin", bytes],
    ["GET", "bin"],
    ["GET", "nothing"],
    ["RPUSH", "list", "a", "", "é"],
    ["LRANGE", "list", 0, -1],
    ["LRANGE", "none", 0, -1],
    ["INCR", "list"],
    ["EVAL", "return {1, {'x', false}, 'y'}", 0],
  ]);
  assert.equal(ok, "OK");
  assert.deepEqual(got, bytes);
  assert.equal(missing, null);
  assert.equal(n, 3);
  const enc = new TextEncoder();
  assert.deepEqual(list, [enc.encode("a"), enc.encode(""), enc.encode("é")]);
  assert.deepEqual(empty, []);
  assert.ok(error instanceof Error);
  assert.match(error.message, /^WRONGTYPE /);
  assert.deepEqual(nested, [1, [enc.encode("x"), null], enc.encode("y")]);
});
