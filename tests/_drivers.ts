// Driver factories and wrappers shared by the test files: each conformance suite takes a factory
// of fresh drivers on an empty database, and some tests record the commands a driver is given.
import { type RedisCommand, type RedisDriver, tcpDriver } from "../mod.ts";
import type { TcpDriverOptions } from "../src/connection/drivers/tcp.ts";

/** Makes a fresh driver on an empty database. */
export type DriverFactory = () => Promise<RedisDriver>;

/**
 * A factory of TCP drivers (plain, TLS or unix socket, as `options` say) whose database is
 * flushed before each is handed out. `options` is read at each call, so it may name a server that
 * a `before()` hook starts.
 */
export function flushedTcpDriver(options: () => TcpDriverOptions): DriverFactory {
  return async () => {
    const driver = tcpDriver(options());
    await driver.send(["FLUSHDB"]);
    return driver;
  };
}

const decoder = new TextDecoder();
const asText = (command: RedisCommand): string[] =>
  command.map((a) => a instanceof Uint8Array ? decoder.decode(a) : String(a));

/**
 * A driver that records every command it is given, as text (transactions as MULTI … EXEC), and
 * passes it on; subscriptions go straight to the inner driver, unrecorded.
 */
export function recordingDriver(driver: RedisDriver): { driver: RedisDriver; log: string[][] } {
  const log: string[][] = [];
  const wrapped: RedisDriver = {
    name: driver.name,
    send(command) {
      log.push(asText(command));
      return driver.send(command);
    },
    transaction(commands) {
      log.push(["MULTI"], ...commands.map(asText), ["EXEC"]);
      return driver.transaction(commands);
    },
    close: () => driver.close(),
    [Symbol.asyncDispose]: () => driver.close(),
  };
  if (driver.openSubscriber) wrapped.openSubscriber = driver.openSubscriber.bind(driver);
  return { driver: wrapped, log };
}

/**
 * A driver whose MGETs (the consumers' reads) wait while `hold()` is in force: `release()` lets
 * them through, `fail(error)` rejects them with `error` until released. Everything else passes
 * straight through (a store's own GET too), so a test can keep a consumer from reading while
 * results are stored and published.
 */
export function heldReads(driver: RedisDriver): {
  driver: RedisDriver;
  hold(): void;
  release(): void;
  fail(error: Error): void;
} {
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  let failure: Error | undefined;
  const wrapped: RedisDriver = {
    name: driver.name,
    async send(command) {
      if (String(command[0]).toUpperCase() === "MGET") {
        await gate;
        if (failure) throw failure;
      }
      return driver.send(command);
    },
    transaction: (commands) => driver.transaction(commands),
    close: () => driver.close(),
    [Symbol.asyncDispose]: () => driver.close(),
  };
  if (driver.openSubscriber) wrapped.openSubscriber = driver.openSubscriber.bind(driver);
  const release = () => {
    failure = undefined;
    open?.();
    gate = open = undefined;
  };
  return {
    driver: wrapped,
    hold: () => {
      gate ??= new Promise<void>((resolve) => (open = resolve));
    },
    release,
    fail: (error) => {
      release();
      failure = error;
    },
  };
}
