/**
 * `createBroker(url)`: a {@linkcode Broker} from Celery's `broker_url` (`redis://`, `rediss://`,
 * `redis+socket://`, `sentinel://`, `https://` for Upstash REST, `memory://`), connected as
 * `createBackend()` connects to the same URL.
 *
 * @module
 */
import { createBackend, type CreateBackendOptions } from "../backend/create_backend.ts";
import { parseRedisUrl } from "../connection/url.ts";
import { Broker, type BrokerOptions, splitBrokerOptions } from "./broker.ts";

/** Options of {@linkcode createBroker}: the broker's settings and the connection's. */
export type CreateBrokerOptions =
  & BrokerOptions
  & Omit<CreateBackendOptions, keyof BrokerOptions | "consumer">;

/**
 * Creates a broker for a Celery `broker_url`.
 * @param url The broker URL.
 * @param options Broker settings (`backend` for results, `defaultQueue`, `routes`, …) and
 * connection options as `createBackend()` takes them.
 * @returns A broker that owns its connection.
 * @throws {TypeError} for a malformed or unsupported URL (the message hides passwords).
 */
export function createBroker(url: string, options: CreateBrokerOptions = {}): Broker {
  const { broker, connection } = splitBrokerOptions(options);
  const carrier = createBackend(url, connection);
  const scheme = url.split("://", 1)[0]!.split("+", 1)[0];
  const urlDb = scheme === "redis" || scheme === "rediss" ? parseRedisUrl(url).db : 0;
  return new Broker(carrier.driver, { ...broker, db: broker.db ?? urlDb });
}
