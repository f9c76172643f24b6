import { after, before } from "node:test";
import { tcpDriver } from "../mod.ts";
import { defineChordConformance } from "./_chord_conformance.ts";
import { type RedisServer, startRedisServer } from "./_redis_server.ts";

let server: RedisServer;
before(async () => {
  server = await startRedisServer();
});
after(async () => {
  await server[Symbol.asyncDispose]();
});

defineChordConformance("tcp", async () => {
  const driver = tcpDriver({ port: server.port, db: 2 });
  await driver.send(["FLUSHDB"]);
  return driver;
});
