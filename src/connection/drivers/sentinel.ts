/**
 * The Sentinel driver: Celery's `SentinelBackend` connections. The master of a named service is
 * found through the sentinels, each in turn (the first that answers well moves to the front, as
 * redis-py does), and every new connection — commands and subscribers alike — checks with `ROLE`
 * that it reached the master. A failover is followed however it shows:
 *
 * - the connection drops (the old master dies, or Sentinel kills its clients when it demotes it):
 *   the next connection asks the sentinels again;
 * - the server answers `READONLY` (a master turned replica): the connection is dropped and what it
 *   owed fails with `RedisConnectionError`, which `retryingDriver()` retries elsewhere;
 * - the sentinels name another address: connections to the old one are dropped.
 *
 * Redis replicates asynchronously, so a write acknowledged by a master that is then replaced can
 * vanish. With `confirmWrites` (the default) every write is followed by `WAIT` for the replicas
 * the sentinels consider healthy; when fewer confirm it, the write stands only if every sentinel
 * that answers still names this master with no failover under way — otherwise it fails with
 * `RedisConnectionError`, to be retried on the new master.
 *
 * @module
 */
import type {
  RedisArg,
  RedisCommand,
  RedisDriver,
  RedisReply,
  Subscriber,
  SubscriberHandlers,
} from "../driver.ts";
import { BackendClosedError, RedisConnectionError, RedisReplyError } from "../../errors.ts";
import {
  type PinnedConnection,
  type TcpDriver,
  tcpDriver,
  type TcpDriverInternals,
  type TcpDriverOptions,
  tcpDriverWithHooks,
  type TcpTlsOptions,
} from "./tcp.ts";
import { TIME_UNITS_HINT } from "../time_units.ts";
import { READ_COMMANDS } from "../read_commands.ts";

/** The address of one sentinel. */
export interface SentinelAddressOptions {
  /** Host name or address. */
  host: string;
  /** Port (sentinels usually listen on 26379). */
  port: number;
}

/**
 * How to talk to the sentinels themselves (Celery's `sentinel_kwargs` transport option): their
 * own credentials and TLS, which may differ from the master's.
 */
export interface SentinelKwargs {
  /** ACL user name on the sentinels. @default {undefined} */
  username?: string | undefined;
  /** Password of the sentinels (`requirepass` in sentinel.conf). @default {undefined} */
  password?: string | undefined;
  /** TLS to the sentinels. @default {undefined} (plain TCP) */
  tls?: boolean | TcpTlsOptions | undefined;
  /** Milliseconds to connect to a sentinel before trying the next. @default {2000} */
  connectTimeout?: number | undefined;
  /** Milliseconds a sentinel may take to answer before trying the next. @default {2000} */
  socketTimeout?: number | undefined;
}

/** Options of {@linkcode sentinelDriver}: the sentinels, the service, the master's connection. */
export interface SentinelDriverOptions extends Omit<TcpDriverOptions, "host" | "port" | "path"> {
  /** The sentinels, asked in this order (the `;`-separated chunks of a `sentinel://` URL). */
  sentinels: readonly SentinelAddressOptions[];
  /** The monitored service (Celery's `master_name` transport option). */
  masterName: string;
  /** Credentials, TLS and timeouts for the sentinels. @default {{}} */
  sentinelKwargs?: SentinelKwargs | undefined;
  /**
   * Accept a master only when the sentinel answering sees at least this many other sentinels
   * (Celery's `min_other_sentinels`).
   * @default {0}
   */
  minOtherSentinels?: number | undefined;
  /**
   * After every write, `WAIT` for the replicas the sentinels consider healthy, so a failover
   * cannot lose an acknowledged write (see the module documentation). `false` sends exactly
   * Celery's commands.
   * @default {true}
   */
  confirmWrites?: boolean | undefined;
  /** Milliseconds `WAIT` may take before the sentinels are asked instead. @default {1000} */
  confirmTimeout?: number | undefined;
}

/** The master's address as the sentinels report it. */
export interface MasterAddress {
  /** Host or IP address. */
  host: string;
  /** Port. */
  port: number;
}

/** The driver {@linkcode sentinelDriver} returns. */
export interface SentinelDriver extends RedisDriver {
  /** Opens a pub/sub connection to the current master. */
  openSubscriber(handlers: SubscriberHandlers): Promise<Subscriber>;
  /** Opens a command connection to the master now, rather than on the first command. */
  connect(): Promise<void>;
  /**
   * Asks the sentinels, in turn, where the master is (redis-py's `discover_master`).
   * @throws {RedisConnectionError} when no sentinel names a usable master.
   */
  discoverMaster(): Promise<MasterAddress>;
}

/**
 * Creates a driver for a Redis service monitored by Sentinel.
 *
 * @param options The sentinels, the service name, and the master's connection settings (every
 * timeout in milliseconds; the URL's query and Celery's settings, read by `createBackend()`, are
 * in seconds).
 * @returns The driver; it connects on first use.
 * @throws {TypeError} without sentinels or a master name.
 * @throws {RangeError} for out-of-range numbers.
 *
 * @example
 * ```ts ignore
 * import { retryingDriver, sentinelDriver } from "@taskmeta/celery-redis";
 * const redis = retryingDriver(sentinelDriver({
 *   sentinels: [{ host: "10.0.0.1", port: 26379 }, { host: "10.0.0.2", port: 26379 }],
 *   masterName: "mymaster",
 *   password: "master-password",
 *   sentinelKwargs: { password: "sentinel-password" },
 *   db: 1,
 * }));
 * ```
 */
export function sentinelDriver(options: SentinelDriverOptions): SentinelDriver {
  return new SentinelDriverImpl(options);
}

const DEFAULT_SENTINEL_TIMEOUT = 2000;
/** How long the count of healthy replicas is trusted before the sentinels are asked again. */
const REPLICA_COUNT_TTL = 5000;

const textDecoder = new TextDecoder();

function text(reply: RedisReply | undefined): string {
  if (reply instanceof Uint8Array) return textDecoder.decode(reply);
  if (typeof reply === "string" || typeof reply === "number") return String(reply);
  return "";
}

/** A flat `[key, value, …]` reply (SENTINEL MASTER / REPLICAS entries) as a record. */
function record(reply: RedisReply): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(reply)) return out;
  for (let i = 0; i + 1 < reply.length; i += 2) out[text(reply[i])] = text(reply[i + 1]);
  return out;
}

function addressOf(host: string, port: number | string): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

function flagsOf(state: Record<string, string>): string[] {
  return (state.flags ?? "").split(",");
}

// Besides reads, commands that write nothing to the dataset, so no WAIT for replicas after them.
const NOTHING_TO_CONFIRM = new Set(["PUBLISH", "WAIT"]);

function commandWord(arg: RedisArg | undefined): string {
  if (arg === undefined) return "";
  return (typeof arg === "string" ? arg : text(arg as RedisReply)).toUpperCase();
}

function isWrite(command: RedisCommand): boolean {
  const upper = commandWord(command[0]);
  // CONFIG GET reads the server's settings: nothing for a replica to confirm (CONFIG SET is a write).
  if (upper === "CONFIG") return commandWord(command[1]) !== "GET";
  return !READ_COMMANDS.has(upper) && !NOTHING_TO_CONFIRM.has(upper);
}

class Sentinel {
  readonly address: string;
  #driver: TcpDriver | undefined;
  readonly #options: TcpDriverOptions;

  constructor(at: SentinelAddressOptions, kwargs: SentinelKwargs) {
    this.address = addressOf(at.host, at.port);
    this.#options = {
      host: at.host,
      port: at.port,
      connectTimeout: kwargs.connectTimeout ?? DEFAULT_SENTINEL_TIMEOUT,
      socketTimeout: kwargs.socketTimeout ?? DEFAULT_SENTINEL_TIMEOUT,
    };
    if (kwargs.username !== undefined) this.#options.username = kwargs.username;
    if (kwargs.password !== undefined) this.#options.password = kwargs.password;
    if (kwargs.tls !== undefined) this.#options.tls = kwargs.tls;
    // Validate now, as tcpDriver would, so a bad option fails at construction.
    void tcpDriver(this.#options).close();
  }

  send(command: RedisCommand): Promise<RedisReply> {
    this.#driver ??= tcpDriver(this.#options);
    return this.#driver.send(command);
  }

  close(): Promise<void> {
    const driver = this.#driver;
    this.#driver = undefined;
    return driver?.close() ?? Promise.resolve();
  }
}

class SentinelDriverImpl implements SentinelDriver {
  readonly name = "sentinel";
  readonly #masterName: string;
  #sentinels: Sentinel[];
  readonly #minOtherSentinels: number;
  readonly #master: TcpDriverInternals;
  readonly #confirm: boolean;
  readonly #confirmTimeout: number;
  /** `host:port` of the master the last discovery found. */
  #address: string | undefined;
  #replicas: { count: number; at: number } | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: SentinelDriverOptions) {
    const {
      sentinels,
      masterName,
      sentinelKwargs,
      minOtherSentinels,
      confirmWrites,
      confirmTimeout,
      ...master
    } = options;
    if (!Array.isArray(sentinels) || sentinels.length === 0) {
      throw new TypeError("A Sentinel driver needs at least one sentinel address");
    }
    if (typeof masterName !== "string" || masterName === "") {
      throw new TypeError(
        "A Sentinel driver needs the master's name (Celery's master_name transport option)",
      );
    }
    const minOthers = minOtherSentinels ?? 0;
    if (!Number.isInteger(minOthers) || minOthers < 0) {
      throw new RangeError(`minOtherSentinels must be a non-negative integer, got ${minOthers}`);
    }
    const timeout = confirmTimeout ?? 1000;
    if (!Number.isInteger(timeout) || timeout < 1) {
      throw new RangeError(
        `confirmTimeout must be a positive number of milliseconds, got ${timeout} ${TIME_UNITS_HINT}`,
      );
    }
    this.#masterName = masterName;
    this.#minOtherSentinels = minOthers;
    this.#confirm = confirmWrites ?? true;
    this.#confirmTimeout = timeout;
    this.#sentinels = sentinels.map((at) => new Sentinel(at, sentinelKwargs ?? {}));
    this.#master = tcpDriverWithHooks(master, {
      describe: `the master of "${masterName}"`,
      endpoint: () => this.#endpoint(),
      requireMaster: true,
    });
  }

  // -- discovery ----------------------------------------------------------------------------

  async discoverMaster(): Promise<MasterAddress> {
    if (this.#closing) throw new BackendClosedError();
    const problems: string[] = [];
    const errors: unknown[] = [];
    for (const sentinel of [...this.#sentinels]) {
      let state: Record<string, string>;
      try {
        state = record(await sentinel.send(["SENTINEL", "MASTER", this.#masterName]));
      } catch (error) {
        errors.push(error);
        problems.push(`${sentinel.address}: ${(error as Error).message}`);
        continue;
      }
      const why = this.#unusable(state);
      if (why !== undefined) {
        problems.push(`${sentinel.address}: ${why}`);
        continue;
      }
      // The sentinel that answered well is asked first next time.
      this.#sentinels = [sentinel, ...this.#sentinels.filter((s) => s !== sentinel)];
      return { host: state.ip!, port: Number(state.port) };
    }
    throw new RedisConnectionError(
      `No sentinel named a usable master for "${this.#masterName}": ${problems.join("; ")}`,
      { cause: new AggregateError(errors, "Sentinel errors") },
    );
  }

  /** redis-py's `check_master_state`: why a reported master cannot be used, if it cannot. */
  #unusable(state: Record<string, string>): string | undefined {
    const flags = flagsOf(state);
    if (!flags.includes("master")) return `it reports flags ${state.flags ?? "none"}`;
    if (flags.includes("s_down") || flags.includes("o_down")) return "it reports the master down";
    const others = Number(state["num-other-sentinels"] ?? 0);
    if (others < this.#minOtherSentinels) {
      return `it sees ${others} other sentinels, fewer than minOtherSentinels`;
    }
    if (!state.ip || !state.port) return "it reports no address";
    return undefined;
  }

  /** Where a new master connection goes; drops connections to a previous address. */
  async #endpoint(): Promise<MasterAddress> {
    const found = await this.discoverMaster();
    const address = addressOf(found.host, found.port);
    const previous = this.#address;
    if (previous !== undefined && previous !== address) {
      this.#replicas = undefined;
      this.#master.dropConnections(
        (at) => at !== "" && at !== address,
        new RedisConnectionError(
          `The master of "${this.#masterName}" moved from ${previous} to ${address}`,
        ),
      );
    }
    this.#address = address;
    return found;
  }

  // -- commands -----------------------------------------------------------------------------

  send(command: RedisCommand): Promise<RedisReply> {
    if (this.#closing) return Promise.reject(new BackendClosedError());
    if (!this.#confirm || !isWrite(command)) return this.#master.send(command);
    return this.#confirmed((connection) => connection.send(command));
  }

  transaction(commands: readonly RedisCommand[]): Promise<RedisReply[]> {
    if (this.#closing) return Promise.reject(new BackendClosedError());
    if (!this.#confirm || !commands.some(isWrite)) return this.#master.transaction(commands);
    return this.#confirmed((connection) => connection.transaction(commands));
  }

  connect(): Promise<void> {
    if (this.#closing) return Promise.reject(new BackendClosedError());
    return this.#master.connect();
  }

  openSubscriber(handlers: SubscriberHandlers): Promise<Subscriber> {
    if (this.#closing) return Promise.reject(new BackendClosedError());
    return this.#master.openSubscriber(handlers);
  }

  // -- confirmed writes ---------------------------------------------------------------------

  async #confirmed<T>(op: (connection: PinnedConnection) => Promise<T>): Promise<T> {
    const needed = await this.#replicasNeeded();
    if (needed === 0) {
      // No healthy replica to WAIT for — as right after a promotion, while this driver may still
      // write to the old master: the write stands only if the sentinels still name this master.
      let address = "";
      const value = await this.#master.withConnection((c) => {
        address = c.address;
        return op(c);
      });
      await this.#confirmShortfall(address, 0, 0);
      return value;
    }
    // The write and its WAIT go out together on one connection (WAIT counts that connection's
    // writes).
    const [result, acked, connection] = this.#master.withConnection((c) =>
      [op(c), c.send(["WAIT", needed, this.#confirmTimeout]), c] as const
    );
    acked.catch(() => {});
    const value = await result;
    const count = Number(await acked);
    if (count >= needed) return value;
    await this.#confirmShortfall(connection.address, count, needed);
    return value;
  }

  /** How many replicas the sentinels consider healthy (cached for a few seconds). */
  async #replicasNeeded(): Promise<number> {
    const cached = this.#replicas;
    if (cached !== undefined && Date.now() - cached.at < REPLICA_COUNT_TTL) return cached.count;
    for (const sentinel of this.#sentinels) {
      let reply: RedisReply;
      try {
        reply = await sentinel.send(["SENTINEL", "REPLICAS", this.#masterName]);
      } catch (error) {
        if (error instanceof RedisReplyError && /unknown subcommand/i.test(error.message)) {
          // Redis < 5 names them SLAVES.
          try {
            reply = await sentinel.send(["SENTINEL", "SLAVES", this.#masterName]);
          } catch {
            continue;
          }
        } else {
          continue;
        }
      }
      const count = Array.isArray(reply)
        ? reply.map(record).filter((replica) => {
          const flags = flagsOf(replica);
          return !flags.includes("s_down") && !flags.includes("o_down") &&
            !flags.includes("disconnected") && replica["master-link-status"] === "ok";
        }).length
        : 0;
      this.#replicas = { count, at: Date.now() };
      return count;
    }
    return cached?.count ?? 0;
  }

  /**
   * Fewer replicas confirmed a write than expected: it stands only if every sentinel that answers
   * names this master, up, with no failover under way.
   */
  async #confirmShortfall(address: string, count: number, needed: number): Promise<void> {
    this.#replicas = undefined;
    const answers = await Promise.allSettled(
      this.#sentinels.map((s) => s.send(["SENTINEL", "MASTER", this.#masterName])),
    );
    let confirmed = 0;
    for (const answer of answers) {
      if (answer.status === "rejected") continue;
      const state = record(answer.value);
      const at = addressOf(state.ip ?? "", state.port ?? "");
      const flags = flagsOf(state);
      const failover = flags.includes("failover_in_progress");
      if (at !== address || failover || this.#unusable(state) !== undefined) {
        if (at !== address) {
          this.#master.dropConnections(
            (a) => a === address,
            new RedisConnectionError(
              `The master of "${this.#masterName}" moved from ${address} to ${at}`,
            ),
          );
        }
        throw new RedisConnectionError(
          `A write to ${address} reached ${count} of ${needed} replicas while the sentinels ` +
            `report ${
              at !== address ? `the master at ${at}` : failover ? "a failover" : "the master down"
            }: it may be lost, so it failed`,
        );
      }
      confirmed++;
    }
    if (confirmed === 0) {
      throw new RedisConnectionError(
        `A write to ${address} reached ${count} of ${needed} replicas and no sentinel answered ` +
          "to confirm the master: it may be lost, so it failed",
      );
    }
  }

  // -- closing ------------------------------------------------------------------------------

  close(): Promise<void> {
    this.#closing ??= Promise.all([
      this.#master.close(),
      ...this.#sentinels.map((s) => s.close()),
    ]).then(() => {});
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
