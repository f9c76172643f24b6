/**
 * Celery's result backend URLs: parsing as Celery's `_params_from_url` does, and `asUri()` masking.
 *
 * @module
 */

/** What a `redis://` URL configures, in Celery's terms (times in seconds, as in Celery). */
export interface RedisUrlParams {
  /** The URL scheme without `://`, e.g. `redis`. */
  scheme: string;
  /** Host name or address. @default {"localhost"} */
  host: string;
  /** TCP port. @default {6379} */
  port: number;
  /** Unix socket path (`redis+socket://` / `socket://` only). */
  path?: string;
  /** ACL user name. */
  username?: string;
  /** Password (percent-decoded). */
  password?: string;
  /** Database number. @default {0} */
  db: number;
  /** `socket_timeout` in seconds. */
  socketTimeout?: number;
  /** `socket_connect_timeout` in seconds. */
  socketConnectTimeout?: number;
  /** `retry_on_timeout`. */
  retryOnTimeout?: boolean;
  /** `max_connections`. */
  maxConnections?: number;
  /** `health_check_interval` in seconds. */
  healthCheckInterval?: number;
  /** Every query parameter, last value winning, as Celery passes them on. */
  query: Record<string, string>;
}

/** The URL schemes that mean a TCP Redis connection. */
export const REDIS_SCHEMES: readonly string[] = ["redis", "rediss", "redis+socket", "socket"];

/**
 * Parses a Celery Redis backend URL.
 * @throws {TypeError} for a malformed URL, a non-numeric db, or an invalid option value. The message
 * never contains the password.
 *
 * @example
 * ```ts
 * import { parseRedisUrl } from "./url.ts";
 * const p = parseRedisUrl("redis://:pa%40ss@h1:6380/2?socket_timeout=3");
 * console.log(p.host, p.port, p.db, p.password, p.socketTimeout); // h1 6380 2 pa@ss 3
 * ```
 */
export function parseRedisUrl(url: string): RedisUrlParams {
  const scheme = schemeOf(url);
  if (scheme === undefined) throw new TypeError(`Invalid Redis URL: no scheme in ${maskUrl(url)}`);
  const isSocket = scheme === "socket" || scheme === "redis+socket";
  const rest = url.slice(scheme.length + 3);
  const slash = rest.search(/[/?#]/);
  const at = rest.lastIndexOf("@", slash === -1 ? undefined : slash);
  const userinfo = at === -1 ? "" : rest.slice(0, at + 1);
  let hostPart = rest.slice(at + 1);
  // Celery defaults an empty host to localhost; a socket URL's "host" is the start of its path.
  if (isSocket) hostPart = `localhost${hostPart.startsWith("/") ? "" : "/"}${hostPart}`;
  else if (hostPart === "" || /^[/?#]/.test(hostPart)) hostPart = `localhost${hostPart}`;
  let parsed: URL;
  try {
    // Parse as a generic hierarchical URL so host, port and userinfo follow HTTP rules.
    parsed = new URL(`http://${userinfo}${hostPart}`);
  } catch {
    throw new TypeError(`Invalid Redis URL: cannot parse ${maskUrl(url)}`);
  }
  const query: Record<string, string> = {};
  for (const [name, value] of parsed.searchParams) query[name] = value;
  const params: RedisUrlParams = {
    scheme,
    host: decode(parsed.hostname.replace(/^\[(.*)\]$/, "$1")) || "localhost",
    port: parsed.port ? Number(parsed.port) : 6379,
    db: 0,
    query,
  };
  if (parsed.username) params.username = decode(parsed.username);
  if (parsed.password) params.password = decode(parsed.password);

  const path = decode(parsed.pathname);
  if (isSocket) {
    // The socket path is everything after the (empty) host: socket:///tmp/redis.sock.
    params.path = `/${path.replace(/^\/+/, "")}`;
    params.host = "";
    params.port = 0;
    if (query.virtual_host !== undefined) params.db = parseDb(query.virtual_host, url);
  } else {
    const dbText = path.replace(/^\/+|\/+$/g, "");
    if (dbText !== "") params.db = parseDb(dbText, url);
  }
  if (query.db !== undefined) params.db = parseDb(query.db, url);
  if (query.socket_timeout !== undefined) {
    params.socketTimeout = parseSeconds(query.socket_timeout, "socket_timeout");
  }
  if (query.socket_connect_timeout !== undefined) {
    params.socketConnectTimeout = parseSeconds(
      query.socket_connect_timeout,
      "socket_connect_timeout",
    );
  }
  if (query.retry_on_timeout !== undefined) {
    params.retryOnTimeout = parseBool(query.retry_on_timeout, "retry_on_timeout");
  }
  if (query.max_connections !== undefined) {
    params.maxConnections = parseInteger(query.max_connections, "max_connections");
  }
  if (query.health_check_interval !== undefined) {
    params.healthCheckInterval = parseInteger(query.health_check_interval, "health_check_interval");
  }
  return params;
}

/** The scheme of a URL (`redis`, `memory`, `redis+socket`…), or `undefined` if it has none. */
export function schemeOf(url: string): string | undefined {
  const match = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
  return match?.[1]?.toLowerCase();
}

/**
 * Celery's `as_uri()`: the URL without its query string, the password replaced by `**` unless
 * `includePassword`; Sentinel's `;`-joined URLs are masked chunk by chunk.
 */
export function maskUrl(url: string, includePassword = false): string {
  if (url.includes(";")) return url.split(";").map((c) => maskUrl(c, includePassword)).join(";");
  const scheme = schemeOf(url);
  if (scheme === undefined) return includePassword ? url : url.replace(/:[^:@/]*@/, ":**@");
  const rest = url.slice(scheme.length + 3).split("?", 1)[0]!.split("#", 1)[0]!;
  const at = rest.lastIndexOf("@", rest.indexOf("/") === -1 ? undefined : rest.indexOf("/"));
  let userinfo = at === -1 ? "" : rest.slice(0, at);
  const hostAndPath = at === -1 ? rest : rest.slice(at + 1);
  if (!includePassword && userinfo.includes(":")) {
    userinfo = `${userinfo.slice(0, userinfo.indexOf(":"))}:**`;
  }
  const outScheme = scheme === "redis+socket" ? "socket" : scheme;
  let result = `${outScheme}://${userinfo ? `${userinfo}@` : ""}${hostAndPath}`;
  if (hostAndPath !== "" && !hostAndPath.includes("/")) result += "/";
  if (result.endsWith(":///")) result = result.slice(0, -1);
  return result;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function parseDb(text: string, url: string): number {
  if (!/^\d+$/.test(text)) {
    throw new TypeError(`Invalid Redis URL: the database must be a number, in ${maskUrl(url)}`);
  }
  return Number(text);
}

function parseSeconds(text: string, name: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`Invalid Redis URL: ${name} must be a number of seconds, got "${text}"`);
  }
  return value;
}

function parseInteger(text: string, name: string): number {
  if (!/^\d+$/.test(text)) {
    throw new TypeError(`Invalid Redis URL: ${name} must be a whole number, got "${text}"`);
  }
  return Number(text);
}

function parseBool(text: string, name: string): boolean {
  const lower = text.toLowerCase();
  if (["1", "true", "yes", "on", "y"].includes(lower)) return true;
  if (["0", "false", "no", "off", "n", ""].includes(lower)) return false;
  throw new TypeError(`Invalid Redis URL: ${name} must be true or false, got "${text}"`);
}
