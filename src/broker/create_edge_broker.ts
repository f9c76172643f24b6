/**
 * `createBroker()` of the edge entry point: a {@linkcode Broker} over Upstash's REST API (or a
 * given `driver`, such as `memoryDriver()`), from a URL or the `UPSTASH_REDIS_REST_URL`/`_TOKEN` environment bindings, connected
 * as the edge `createBackend()` connects.
 *
 * @module
 */
import {
  createEdgeBackend,
  type CreateEdgeBackendOptions,
} from "../backend/create_edge_backend.ts";
import { Broker, type BrokerOptions, splitBrokerOptions } from "./broker.ts";

/** Options of {@linkcode createEdgeBroker}: the broker's settings and the connection's. */
export type CreateEdgeBrokerOptions =
  & BrokerOptions
  & Omit<CreateEdgeBackendOptions, keyof BrokerOptions | "consumer">;

/**
 * Creates a broker for an Upstash REST URL (`https://…`), the environment, or `{ driver }`.
 * @param url The REST URL; `undefined` reads `env` as the edge `createBackend()` does.
 * @param options Broker settings and the HTTP connection's options.
 * @returns A broker that owns its connection.
 */
export function createEdgeBroker(
  url?: string,
  options: CreateEdgeBrokerOptions = {},
): Broker {
  const { broker, connection } = splitBrokerOptions(options);
  const carrier = createEdgeBackend(url, connection);
  return new Broker(carrier.driver, broker);
}
