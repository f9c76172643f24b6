// One redis-server per test file, started and stopped by node:test hooks (kept apart from
// _redis_server.ts, which benchmarks import outside a test runner).
import { after, before } from "node:test";
import { type RedisServer, type RedisServerOptions, startRedisServer } from "./_redis_server.ts";

/**
 * One redis-server for a test file: started in a `before()` hook, killed in an `after()` hook.
 * The object returned stands for it (its port, URL and controls), readable once `before()` ran.
 */
export function redisServerForFile(options: RedisServerOptions = {}): RedisServer {
  let server: RedisServer | undefined;
  before(async () => {
    server = await startRedisServer(options);
  });
  after(async () => {
    await server?.[Symbol.asyncDispose]();
  });
  const started = (): RedisServer => {
    if (!server) throw new Error("The file's redis-server is not started: read it inside a test");
    return server;
  };
  return {
    get port() {
      return started().port;
    },
    get tlsPort() {
      return started().tlsPort;
    },
    get host() {
      return started().host;
    },
    get url() {
      return started().url;
    },
    get dir() {
      return started().dir;
    },
    stop: (how) => started().stop(how),
    restart: () => started().restart(),
    pause: () => started().pause(),
    resume: () => started().resume(),
    [Symbol.asyncDispose]: () => started()[Symbol.asyncDispose](),
  };
}
