/**
 * Celery's result backend URLs: parsing exactly as Celery's `by_url()` + `RedisBackend.__init__` /
 * `_params_from_url()` (and kombu's `url_to_parts()`, built on Python's `urllib.parse`) do, and
 * `asUri()` masking as Celery's `as_uri()` does.
 *
 * The parse follows Python's rules, not WHATWG's: the part after `scheme://` is split as an HTTP URL
 * by `urlparse`, user, password, host and path are percent-decoded (`unquote`), the query is read by
 * `parse_qsl` (blank values dropped, last value wins), and redis-py's query converters give the
 * values their types (`int()`, `float()`, `to_bool()` with Python's spellings). A table-driven test
 * (`tests/url_celery_parity_test.ts`) holds this module to real Celery 5.2.6 and 5.6.3.
 *
 * Choices where Celery versions differ or Celery fails late:
 * - a bare `socket://` URL is refused, as Celery refuses it (the name resolves to Python's `socket`
 *   module), with a message pointing at `redis+socket://`;
 * - query values follow redis-py 5+ (Celery 5.6): `?protocol=x` is refused, where Celery 5.2's
 *   redis-py 4.3 passes it through; a Sentinel URL's user name reaches the master (Celery 5.6.1+);
 * - bracketed hosts follow Python 3.11.7's check (Debian's 3.11.2 also refuses `h[::1]`);
 * - a `sentinel://` chunk naming a socket is refused here, not at the first connection.
 *
 * `socket_keepalive` and `retry_on_timeout` are parsed (and checked) but the TCP driver does not use
 * them: its health check finds dead peers, and its retry policy covers timeouts.
 *
 * @module
 */
import { redactUrl, schemeOf, segmentStarts } from "./redact_url.ts";

export { schemeOf };

/** TLS settings of a connection, in Celery's terms (`ssl_*` URL parameters, `redis_backend_use_ssl`). */
export interface RedisSslParams {
  /**
   * `ssl_cert_reqs`: `required` verifies the server's certificate (Python's `CERT_OPTIONAL` means
   * the same for a client); `none` accepts any certificate.
   */
  certReqs: "required" | "optional" | "none";
  /** `ssl_ca_certs`: path of a PEM file of CA certificates (instead of the system's). */
  caCerts?: string;
  /** `ssl_certfile`: path of the client certificate (PEM), for mutual TLS. */
  certfile?: string;
  /** `ssl_keyfile`: path of the client certificate's private key (PEM). */
  keyfile?: string;
  /** `ssl_check_hostname`: whether the certificate must name the host. @default {true} */
  checkHostname?: boolean;
}

/** One Sentinel address of a `sentinel://` URL. */
export interface SentinelAddress {
  /** Host name or address (lower-cased, as Python reports it). */
  host: string;
  /** TCP port (Celery uses 6379, not 26379, when a chunk names none). */
  port: number;
}

/** What a Celery Redis backend URL configures, in Celery's terms (times in seconds, as in Celery). */
export interface RedisUrlParams {
  /** The Celery backend class the URL selects. */
  backend: "RedisBackend" | "SentinelBackend";
  /**
   * The URL scheme Celery parses, without `://`: `redis`, `rediss`, `sentinel`, or `socket` for
   * `redis+socket://` (the part after `+`).
   */
  scheme: string;
  /** Host name or address (lower-cased). Empty for a Unix socket. @default {"localhost"} */
  host: string;
  /** TCP port. 0 for a Unix socket. @default {6379} */
  port: number;
  /** Unix socket path (`redis+socket://` only). */
  path?: string;
  /** ACL user name. */
  username?: string;
  /** Password (percent-decoded). */
  password?: string;
  /** Database number. @default {0} */
  db: number;
  /** `socket_timeout` in seconds (Celery's default, 120, is applied by `createBackend()`). */
  socketTimeout?: number;
  /** `socket_connect_timeout` in seconds. */
  socketConnectTimeout?: number;
  /** `socket_keepalive`. */
  socketKeepalive?: boolean;
  /** `retry_on_timeout`. */
  retryOnTimeout?: boolean;
  /** `max_connections`. */
  maxConnections?: number;
  /** `health_check_interval` in seconds. */
  healthCheckInterval?: number;
  /** TLS settings, present when the connection uses TLS (`rediss://` or the `ssl` option). */
  ssl?: RedisSslParams;
  /** The sentinels of a `sentinel://` URL, in order (its `;`-separated chunks). */
  sentinels?: SentinelAddress[];
  /**
   * Every query parameter, percent-decoded, last value winning, blank values dropped (Python's
   * `parse_qsl`). Celery passes the ones it does not know on to redis-py.
   */
  query: Record<string, string>;
}

/** Celery's `redis_backend_use_ssl` setting (same keys as the URL's `ssl_*` parameters). */
export interface RedisBackendSslOptions {
  /** `ssl_cert_reqs`: `required`, `optional`, `none` or `CERT_REQUIRED`, `CERT_OPTIONAL`, `CERT_NONE`. */
  sslCertReqs?: string | undefined;
  /** `ssl_ca_certs`: path of a PEM file of CA certificates. */
  sslCaCerts?: string | undefined;
  /** `ssl_certfile`: path of the client certificate (PEM). */
  sslCertfile?: string | undefined;
  /** `ssl_keyfile`: path of the client key (PEM). */
  sslKeyfile?: string | undefined;
  /** `ssl_check_hostname`. @default {true} */
  sslCheckHostname?: boolean | undefined;
}

/** Options of {@linkcode parseRedisUrl}: the Celery settings that change how a URL is read. */
export interface ParseRedisUrlOptions {
  /**
   * Celery's `redis_backend_use_ssl`: switches the connection to TLS. As in Celery 5.2–5.6.3, it is
   * an error together with a `redis://` URL; use `rediss://` (or `sentinel://`).
   * @default {undefined}
   */
  ssl?: RedisBackendSslOptions | undefined;
}

/** The URL schemes `createBackend()` hands to the TCP or Sentinel drivers. */
export const REDIS_SCHEMES: readonly string[] = [
  "redis",
  "rediss",
  "redis+socket",
  "rediss+socket",
  "sentinel",
];

const SSL_KEYS = ["ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs"] as const;

const CERT_REQS: Record<string, RedisSslParams["certReqs"]> = {
  required: "required",
  optional: "optional",
  none: "none",
  CERT_REQUIRED: "required",
  CERT_OPTIONAL: "optional",
  CERT_NONE: "none",
};

const E_SSL_SCHEME_MISMATCH = "SSL connection parameters have been provided but the specified " +
  "URL scheme is redis://. A Redis SSL connection URL should use the scheme rediss://.";
const E_SSL_CERT_REQS = "A rediss:// URL must have parameter ssl_cert_reqs and this must be set " +
  "to CERT_REQUIRED, CERT_OPTIONAL, or CERT_NONE";

/**
 * Parses a Celery Redis result backend URL as Celery does: `redis://`, `rediss://`,
 * `redis+socket://`, and `sentinel://` (several `;`-separated chunks; db, password and user name
 * come from the first).
 *
 * @param url The `result_backend` URL.
 * @param options Celery settings that affect the parse (`redis_backend_use_ssl`).
 * @returns The connection parameters.
 * @throws {TypeError} where Celery raises: a malformed URL (bad port, bad IPv6 literal), a
 * non-numeric db, a query value its converter refuses, SSL parameters on `redis://`, a TLS
 * connection without a valid `ssl_cert_reqs`, an unknown backend or a bare `socket://`. The message
 * never contains the password.
 *
 * @example
 * ```ts
 * import { parseRedisUrl } from "./url.ts";
 * const p = parseRedisUrl("redis://:pa%40ss@h1:6380/2?socket_timeout=3");
 * console.log(p.host, p.port, p.db, p.password, p.socketTimeout); // h1 6380 2 pa@ss 3
 * ```
 */
export function parseRedisUrl(url: string, options: ParseRedisUrlOptions = {}): RedisUrlParams {
  if (typeof url !== "string") throw new TypeError("The backend URL must be a string");
  const { backend, url: inner } = celeryBackendOf(url);
  if (!looksClean(url)) {
    // Python would read part of the password as the port or the path (and connect elsewhere).
    throw new TypeError(
      `Invalid Redis URL ${maskUrl(url)}: an @ follows the host; percent-encode the password ` +
        "(encodeURIComponent) when it holds / ? # ; or @",
    );
  }
  const defaults = sslDefaults(options.ssl);
  try {
    if (backend === "SentinelBackend") return sentinelParams(inner, defaults);
    return finishSsl(paramsFromUrl(inner, defaults));
  } catch (error) {
    if (error instanceof UrlError) {
      throw new TypeError(`Invalid Redis URL ${maskUrl(url)}: ${urlErrorMessage(url, error)}`);
    }
    throw error;
  }
}

/**
 * Celery's `backend.as_uri(include_password)`: the URL rebuilt from its parts without the query
 * string, the password replaced by `**` unless `includePassword`; a `sentinel://` URL is masked
 * chunk by chunk. User, password and host are re-quoted (so `[::1]` shows as `%3A%3A1`, as in
 * Celery); `redis+socket://` shows as `socket://`.
 *
 * With `includePassword` the URL comes back as given (minus a `redis+` prefix), query included.
 *
 * @param url The backend URL.
 * @param includePassword Keep the password and the query string.
 * @returns The URL as Celery shows it.
 * @throws {TypeError} when the URL cannot be parsed (Celery would not have created the backend).
 *
 * @example
 * ```ts
 * import { asUri } from "./url.ts";
 * console.log(asUri("redis://:secret@h1:6380/2?socket_timeout=3")); // redis://:**@h1:6380/2
 * ```
 */
export function asUri(url: string, includePassword = false): string {
  const { backend, url: inner } = celeryBackendOf(url);
  if (includePassword) return inner;
  try {
    return maskedChunks(inner, backend);
  } catch (error) {
    if (error instanceof UrlError) {
      throw new TypeError(`Invalid Redis URL ${maskUrl(url)}: ${urlErrorMessage(url, error)}`);
    }
    throw error;
  }
}

/**
 * Celery's `as_uri()` for any URL, safe for messages: like {@linkcode asUri}, but never throws and
 * works for every scheme (`https://`, `memory://`); an unparsable URL still has its password hidden.
 *
 * @param url The URL.
 * @param includePassword Return the URL unchanged.
 * @returns The masked URL.
 *
 * @example
 * ```ts
 * import { maskUrl } from "./url.ts";
 * console.log(maskUrl("sentinel://:pw@s1:26379/1;sentinel://s2:26380/1"));
 * // sentinel://:**@s1:26379/1;sentinel://s2:26380/1
 * ```
 */
export function maskUrl(url: string, includePassword = false): string {
  if (typeof url !== "string") return `(a ${typeof url}, not a URL string)`;
  if (includePassword) return url;
  if (!looksClean(url)) return redactUrl(url);
  const scheme = url.slice(0, url.indexOf("://"));
  try {
    // Not asUri(): its error message masks the URL with this function, which would recurse.
    if (/^(redis|rediss|sentinel)(\+|$)/.test(scheme)) {
      const { backend, url: inner } = celeryBackendOf(url);
      return maskedChunks(inner, backend);
    }
    const masked = sanitizeUrl(url);
    return masked.endsWith(":///") ? masked.slice(0, -1) : masked;
  } catch {
    return redactUrl(url);
  }
}

/** Celery's `as_uri()` of a URL already stripped of `redis+`; throws `UrlError` when unparsable. */
function maskedChunks(inner: string, backend: RedisUrlParams["backend"]): string {
  const chunks = backend === "SentinelBackend" ? inner.split(";") : [inner];
  return chunks.map((chunk) => {
    const masked = sanitizeUrl(chunk);
    return masked.endsWith(":///") ? masked.slice(0, -1) : masked;
  }).join(";");
}

// ---------------------------------------------------------------------------------------------
// Celery: by_url, _params_from_url, SentinelBackend._params_from_url, the ssl_cert_reqs check

/**
 * A parse error worded as Python words it; wrapped in a `TypeError` with the masked URL. When it
 * quotes a piece of the URL (`literal`), `withoutLiteral` says the same without quoting it, for
 * URLs where that piece could be part of a password.
 */
class UrlError extends Error {
  readonly literal: string | undefined;
  readonly withoutLiteral: string | undefined;
  constructor(message: string, literal?: string, withoutLiteral?: string) {
    super(message);
    this.literal = literal;
    this.withoutLiteral = withoutLiteral;
  }
}

/** The message of a parse error, quoting pieces of the URL only when they cannot be secret. */
function urlErrorMessage(url: string, error: UrlError): string {
  if (error.literal === undefined || error.withoutLiteral === undefined) return error.message;
  return safeToQuote(url, error.literal) ? error.message : error.withoutLiteral;
}

/**
 * Whether Celery's masking can be trusted with the URL: every chunk has a scheme and no `@` after
 * its host. A password with an unescaped `/ ? # ;` moves the host boundary, so what Python would
 * read as the port or the path is really part of the password.
 */
function looksClean(url: string): boolean {
  const scheme = url.slice(0, Math.max(0, url.indexOf("://")));
  const chunks = /^sentinel(\+|$)/.test(scheme) ? url.split(";") : [url];
  return chunks.every((chunk) => {
    const at = chunk.indexOf("://");
    if (at === -1 || !/^[A-Za-z][A-Za-z0-9+.-]*$/.test(chunk.slice(0, at))) return false;
    return !strayAt(chunk.slice(at + 3));
  });
}

/**
 * Whether an `@` follows the host where no URL puts one: in the path, the fragment, or a query
 * field's name (a query value such as `ssl_ca_certs=/etc/a@b.pem` may hold one).
 */
function strayAt(afterScheme: string): boolean {
  const hostEnd = afterScheme.search(/[/?#]/);
  if (hostEnd === -1) return false;
  const tail = afterScheme.slice(hostEnd);
  const hash = tail.indexOf("#");
  const beforeHash = hash === -1 ? tail : tail.slice(0, hash);
  if (hash !== -1 && tail.includes("@", hash)) return true;
  const question = beforeHash.indexOf("?");
  const path = question === -1 ? beforeHash : beforeHash.slice(0, question);
  if (path.includes("@")) return true;
  if (question === -1) return false;
  return beforeHash.slice(question + 1).split("&").some((field) => {
    const eq = field.indexOf("=");
    return (eq === -1 ? field : field.slice(0, eq)).includes("@");
  });
}

/**
 * Whether a piece of the URL may be quoted in a message: not when it could be (part of) the user
 * information, raw or percent-decoded. Over-cautious by design.
 */
function safeToQuote(url: string, literal: string): boolean {
  if (literal.includes("@")) return false;
  const starts = segmentStarts(url);
  return starts.every((start, i) => {
    const segment = url.slice(start, starts[i + 1] ?? url.length);
    const open = segment.indexOf("://");
    const at = segment.lastIndexOf("@");
    if (at === -1) return true;
    const userinfo = segment.slice(open === -1 ? 0 : open + 3, at);
    return !userinfo.includes(literal) && !pyUnquote(userinfo).includes(literal);
  });
}

/** Celery's `by_url()`: which backend class, and the URL it is given (`redis+x://` → `x://`). */
function celeryBackendOf(url: string): { backend: RedisUrlParams["backend"]; url: string } {
  const at = url.indexOf("://");
  if (at === -1) {
    throw new TypeError(
      `Invalid Redis URL ${redactUrl(url)}: expected scheme://…, e.g. redis://localhost:6379/0`,
    );
  }
  let name = url.slice(0, at);
  let inner = url;
  if (name.includes("+")) {
    const plus = url.indexOf("+");
    inner = url.slice(plus + 1);
    name = url.slice(0, plus);
  }
  if (name === "redis" || name === "rediss") return { backend: "RedisBackend", url: inner };
  if (name === "sentinel") {
    if (schemeOf(inner) === "socket") {
      throw new TypeError(
        `Invalid Redis URL ${maskUrl(url)}: Sentinel needs host:port addresses, not a socket`,
      );
    }
    return { backend: "SentinelBackend", url: inner };
  }
  if (name === "socket") {
    throw new TypeError(
      `Unsupported result backend URL ${maskUrl(url)}: Celery does not accept socket:// ` +
        "(it names Python's socket module); use redis+socket:///path/to/redis.sock",
    );
  }
  throw new TypeError(
    `Unsupported result backend URL ${maskUrl(url)}: expected redis://, rediss://, ` +
      "redis+socket:// or sentinel:// (scheme names are case-sensitive, as in Celery)",
  );
}

/** The connection parameters `redis_backend_use_ssl` contributes before the URL is applied. */
interface Defaults {
  ssl: Partial<Record<(typeof SSL_KEYS)[number], string>> | undefined;
  checkHostname: boolean | undefined;
}

function sslDefaults(ssl: RedisBackendSslOptions | undefined): Defaults {
  if (!ssl) return { ssl: undefined, checkHostname: undefined };
  const out: Partial<Record<(typeof SSL_KEYS)[number], string>> = {};
  if (ssl.sslCaCerts !== undefined) out.ssl_ca_certs = ssl.sslCaCerts;
  if (ssl.sslCertfile !== undefined) out.ssl_certfile = ssl.sslCertfile;
  if (ssl.sslKeyfile !== undefined) out.ssl_keyfile = ssl.sslKeyfile;
  if (ssl.sslCertReqs !== undefined) out.ssl_cert_reqs = ssl.sslCertReqs;
  return { ssl: out, checkHostname: ssl.sslCheckHostname };
}

type SslRecord = Partial<Record<(typeof SSL_KEYS)[number], string>>;

/** One parsed URL, with the TLS settings still to be checked. */
interface Parsed {
  params: RedisUrlParams;
  /** Whether the connection uses TLS (`rediss://` or `redis_backend_use_ssl`). */
  tls: boolean;
  ssl: SslRecord;
  checkHostname: boolean | undefined;
}

/** `RedisBackend._params_from_url(url, defaults)` for one URL (or one Sentinel chunk). */
function paramsFromUrl(url: string, defaults: Defaults): Parsed {
  const parts = urlToParts(url);
  const scheme = parts.scheme;
  const query = parts.query;
  const params: RedisUrlParams = {
    backend: "RedisBackend",
    scheme,
    host: parts.hostname ?? "localhost",
    port: parts.port ?? 6379,
    db: 0,
    query: { ...query },
  };
  if (parts.username !== undefined) params.username = parts.username;
  if (parts.password !== undefined) params.password = parts.password;
  let db: string | undefined = query.virtual_host;
  delete query.virtual_host;
  if (scheme === "socket") {
    // The path is the socket; host and port are dropped (and a db comes from the query).
    if (parts.path === undefined) throw new UrlError("a socket URL needs the socket's path");
    params.path = `/${parts.path}`;
    params.host = "";
    params.port = 0;
  } else {
    db = parts.path;
  }
  const ssl: SslRecord = { ...defaults.ssl };
  let tls = defaults.ssl !== undefined;
  if (scheme === "redis") {
    if (defaults.ssl !== undefined || SSL_KEYS.some((key) => key in query)) {
      throw new UrlError(E_SSL_SCHEME_MISMATCH);
    }
  }
  if (scheme === "rediss") {
    tls = true;
    for (const key of SSL_KEYS) {
      const value = query[key];
      delete query[key];
      // Celery unquotes these a second time (parse_qsl already did once).
      if (value) ssl[key] = pyUnquote(value);
    }
  }
  // The db may be a string starting with "/" (kombu's virtual_host); int() it as Celery does.
  params.db = db === undefined ? 0 : pyInt(db.replace(/^\/+|\/+$/g, ""), DB_IN_PATH);

  // Query parameters override everything else, converted by redis-py's URL parsers.
  let checkHostname = defaults.checkHostname;
  for (const [key, value] of Object.entries(query)) {
    switch (key) {
      case "db":
        params.db = pyInt(value, key);
        break;
      case "socket_timeout":
        params.socketTimeout = pyFloat(value, key);
        break;
      case "socket_connect_timeout":
        params.socketConnectTimeout = pyFloat(value, key);
        break;
      case "socket_keepalive":
        params.socketKeepalive = toBool(value);
        break;
      case "retry_on_timeout":
        params.retryOnTimeout = toBool(value);
        break;
      case "max_connections":
        params.maxConnections = pyInt(value, key);
        break;
      case "health_check_interval":
        params.healthCheckInterval = pyInt(value, key);
        break;
      case "ssl_check_hostname":
        checkHostname = toBool(value);
        break;
      case "socket_read_size":
      case "protocol":
      case "ssl_min_version":
        pyInt(value, key); // converted (so validated) by redis-py 5+, unused here
        break;
      case "timeout":
        pyFloat(value, key);
        break;
    }
  }
  return { params, tls, ssl, checkHostname };
}

/**
 * The `ssl_cert_reqs` check of `RedisBackend.__init__`, for every TLS connection: it must be
 * given, as one of Celery's six spellings. Sets `params.ssl`.
 */
function finishSsl(parsed: Parsed): RedisUrlParams {
  const { params, ssl } = parsed;
  if (!parsed.tls) return params;
  const certReqs = ssl.ssl_cert_reqs === undefined ? undefined : CERT_REQS[ssl.ssl_cert_reqs];
  if (certReqs === undefined) throw new UrlError(E_SSL_CERT_REQS);
  params.ssl = { certReqs };
  if (ssl.ssl_ca_certs) params.ssl.caCerts = ssl.ssl_ca_certs;
  if (ssl.ssl_certfile) params.ssl.certfile = ssl.ssl_certfile;
  if (ssl.ssl_keyfile) params.ssl.keyfile = ssl.ssl_keyfile;
  if (parsed.checkHostname !== undefined) params.ssl.checkHostname = parsed.checkHostname;
  return params;
}

/** `SentinelBackend._params_from_url`: each chunk is a sentinel; the first gives db and creds. */
function sentinelParams(url: string, defaults: Defaults): RedisUrlParams {
  const hosts = url.split(";").map((chunk) => paramsFromUrl(chunk, defaults).params);
  if (hosts.some((h) => h.path !== undefined)) {
    throw new UrlError("Sentinel needs host:port addresses, not a socket");
  }
  const first = hosts[0]!;
  const params: RedisUrlParams = {
    backend: "SentinelBackend",
    scheme: first.scheme,
    host: first.host,
    port: first.port,
    db: first.db,
    sentinels: hosts.map((h) => ({ host: h.host, port: h.port })),
    // Only db, password and user name of the first chunk reach the master connection: the
    // chunks' other query parameters configure nothing (as in Celery).
    query: {},
  };
  if (first.password !== undefined) params.password = first.password;
  if (first.username !== undefined) params.username = first.username;
  return finishSsl({
    params,
    tls: defaults.ssl !== undefined,
    ssl: { ...defaults.ssl },
    checkHostname: defaults.checkHostname,
  });
}

// ---------------------------------------------------------------------------------------------
// kombu: url_to_parts, as_url/sanitize_url

interface UrlParts {
  scheme: string;
  hostname: string | undefined;
  port: number | undefined;
  username: string | undefined;
  password: string | undefined;
  path: string | undefined;
  query: Record<string, string>;
}

/** kombu's `url_to_parts`: the part after `scheme://` parsed with HTTP rules, then unquoted. */
function urlToParts(url: string): UrlParts {
  const scheme = pyUrlsplit(url).scheme;
  const parts = pyUrlparse(`http://${url.slice(scheme.length + 3)}`);
  let path = parts.path;
  if (path.startsWith("/")) path = path.slice(1);
  const query: Record<string, string> = {};
  for (const [name, value] of pyParseQsl(parts.query)) query[name] = value;
  return {
    scheme,
    hostname: orUndefined(pyUnquote(netlocHostname(parts.netloc) ?? "")),
    port: netlocPort(parts.netloc),
    username: orUndefined(pyUnquote(netlocUserinfo(parts.netloc)[0] ?? "")),
    password: orUndefined(pyUnquote(netlocUserinfo(parts.netloc)[1] ?? "")),
    path: orUndefined(pyUnquote(path)),
    query,
  };
}

function orUndefined(text: string): string | undefined {
  return text === "" ? undefined : text;
}

/** kombu's `sanitize_url` (`as_url(*url_to_parts(url), sanitize=True, mask="**")`). */
function sanitizeUrl(url: string): string {
  const p = urlToParts(url);
  let out = `${p.scheme}://`;
  if (p.username !== undefined || p.password !== undefined) {
    if (p.username !== undefined) out += pyQuote(p.username);
    if (p.password !== undefined) out += ":**";
    out += "@";
  }
  if (p.hostname !== undefined) out += pyQuote(p.hostname);
  if (p.port) out += `:${p.port}`;
  out += "/";
  if (p.path !== undefined) out += p.path;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Python's urllib.parse (3.11), as far as kombu uses it

interface SplitResult {
  scheme: string;
  netloc: string;
  path: string;
  query: string;
}

// deno-lint-ignore no-control-regex
const C0_OR_SPACE = /^[\x00-\x20]+/;
const SCHEME_CHARS = /^[A-Za-z0-9+\-.]+$/;

/** `urllib.parse.urlsplit(url)`. */
function pyUrlsplit(input: string): SplitResult {
  let url = input.replace(C0_OR_SPACE, "").replace(/[\t\r\n]/g, "");
  let scheme = "";
  let netloc = "";
  let query = "";
  const colon = url.indexOf(":");
  if (colon > 0 && /^[A-Za-z]/.test(url) && SCHEME_CHARS.test(url.slice(0, colon))) {
    scheme = url.slice(0, colon).toLowerCase();
    url = url.slice(colon + 1);
  }
  if (url.startsWith("//")) {
    let end = url.length;
    for (const c of "/?#") {
      const at = url.indexOf(c, 2);
      if (at >= 0) end = Math.min(end, at);
    }
    netloc = url.slice(2, end);
    url = url.slice(end);
    const open = netloc.includes("[");
    const close = netloc.includes("]");
    if (open !== close) throw new UrlError("Invalid IPv6 URL");
    if (open && close) checkBracketedHost(netloc.split("[", 2)[1]!.split("]", 1)[0]!);
  }
  const hash = url.indexOf("#");
  if (hash >= 0) url = url.slice(0, hash);
  const question = url.indexOf("?");
  if (question >= 0) {
    query = url.slice(question + 1);
    url = url.slice(0, question);
  }
  checkNetloc(netloc);
  return { scheme, netloc, path: url, query };
}

/** `urllib.parse.urlparse(url)` minus `params` (split off the last path segment at `;`). */
function pyUrlparse(url: string): SplitResult {
  const split = pyUrlsplit(url);
  let path = split.path;
  if (path.includes(";")) {
    const semicolon = path.includes("/") ? path.indexOf(";", path.lastIndexOf("/")) : -1;
    const at = path.includes("/") ? semicolon : path.indexOf(";");
    if (at >= 0) path = path.slice(0, at);
  }
  return { ...split, path };
}

function netlocUserinfo(netloc: string): [string | undefined, string | undefined] {
  const at = netloc.lastIndexOf("@");
  if (at === -1) return [undefined, undefined];
  const userinfo = netloc.slice(0, at);
  const colon = userinfo.indexOf(":");
  return colon === -1
    ? [userinfo, undefined]
    : [userinfo.slice(0, colon), userinfo.slice(colon + 1)];
}

function netlocHostinfo(netloc: string): [string, string | undefined] {
  const hostinfo = netloc.slice(netloc.lastIndexOf("@") + 1);
  let hostname: string;
  let port: string;
  const open = hostinfo.indexOf("[");
  if (open !== -1) {
    const bracketed = hostinfo.slice(open + 1);
    const close = bracketed.indexOf("]");
    hostname = close === -1 ? bracketed : bracketed.slice(0, close);
    const after = close === -1 ? "" : bracketed.slice(close + 1);
    const colon = after.indexOf(":");
    port = colon === -1 ? "" : after.slice(colon + 1);
  } else {
    const colon = hostinfo.indexOf(":");
    hostname = colon === -1 ? hostinfo : hostinfo.slice(0, colon);
    port = colon === -1 ? "" : hostinfo.slice(colon + 1);
  }
  return [hostname, port === "" ? undefined : port];
}

function netlocHostname(netloc: string): string | undefined {
  const hostname = netlocHostinfo(netloc)[0];
  if (!hostname) return undefined;
  const percent = hostname.indexOf("%");
  // A scoped IPv6 address keeps its zone's case.
  return percent === -1
    ? hostname.toLowerCase()
    : hostname.slice(0, percent).toLowerCase() + hostname.slice(percent);
}

function netlocPort(netloc: string): number | undefined {
  const port = netlocHostinfo(netloc)[1];
  if (port === undefined) return undefined;
  if (!/^[0-9]+$/.test(port)) {
    throw new UrlError(
      `Port could not be cast to integer value as '${port}'`,
      port,
      "the port is not a number (if the password holds / ? # or ;, percent-encode it)",
    );
  }
  const value = Number(port);
  if (value > 65535) throw new UrlError("Port out of range 0-65535");
  return value;
}

/** `_checknetloc`: refuses a host that NFKC normalisation would turn into URL syntax. */
function checkNetloc(netloc: string): void {
  // deno-lint-ignore no-control-regex
  if (netloc === "" || /^[\x00-\x7f]*$/.test(netloc)) return;
  const n = netloc.replace(/[@:#?]/g, "");
  const normalized = n.normalize("NFKC");
  if (n === normalized) return;
  if (/[/?#@:]/.test(normalized)) {
    throw new UrlError("the host contains invalid characters under NFKC normalization");
  }
}

/** `_check_bracketed_host`: an IPv6 literal (or IPvFuture) between brackets. */
function checkBracketedHost(host: string): void {
  if (host.startsWith("v")) {
    if (!/^v[a-fA-F0-9]+\..+$/s.test(host)) throw new UrlError("IPvFuture address is invalid");
    return;
  }
  if (isIPv4(host)) throw new UrlError("An IPv4 address cannot be in brackets");
  if (!isIPv6(host)) {
    throw new UrlError(
      `'${host}' does not appear to be an IPv4 or IPv6 address`,
      host,
      "the bracketed host is not an IPv4 or IPv6 address",
    );
  }
}

function isIPv4(text: string): boolean {
  const octets = text.split(".");
  return octets.length === 4 &&
    octets.every((o) => /^(0|[1-9][0-9]{0,2})$/.test(o) && Number(o) <= 255);
}

/** Python's `ipaddress.IPv6Address` syntax (with an optional `%scope`). */
function isIPv6(text: string): boolean {
  let address = text;
  const percent = text.indexOf("%");
  if (percent !== -1) {
    const scope = text.slice(percent + 1);
    if (scope === "" || scope.includes("%")) return false;
    address = text.slice(0, percent);
  }
  const parts = address.split(":");
  if (parts.length < 3) return false;
  if (parts[parts.length - 1]!.includes(".")) {
    if (!isIPv4(parts.pop()!)) return false;
    parts.push("0", "0"); // the IPv4 part stands for two hextets
  }
  if (parts.length > 9) return false;
  let skip = -1;
  for (let i = 1; i < parts.length - 1; i++) {
    if (parts[i] !== "") continue;
    if (skip !== -1) return false; // more than one "::"
    skip = i;
  }
  let hi: number;
  let lo: number;
  if (skip !== -1) {
    hi = skip;
    lo = parts.length - skip - 1;
    if (parts[0] === "" && --hi !== 0) return false; // a leading ":" needs "::"
    if (parts[parts.length - 1] === "" && --lo !== 0) return false; // so does a trailing one
    if (8 - (hi + lo) < 1) return false;
  } else {
    if (parts.length !== 8 || parts[0] === "" || parts[7] === "") return false;
    hi = 8;
    lo = 0;
  }
  for (let i = 0; i < hi; i++) if (!isHextet(parts[i]!)) return false;
  for (let i = parts.length - lo; i < parts.length; i++) if (!isHextet(parts[i]!)) return false;
  return true;
}

function isHextet(text: string): boolean {
  return /^[0-9a-fA-F]{1,4}$/.test(text);
}

/** `urllib.parse.parse_qsl(qs)`: `&`-separated, blank values dropped, `+` is a space. */
function pyParseQsl(qs: string): [string, string][] {
  const out: [string, string][] = [];
  if (qs === "") return out;
  for (const field of qs.split("&")) {
    if (field === "") continue;
    const eq = field.indexOf("=");
    if (eq === -1) continue;
    const value = field.slice(eq + 1);
    if (value === "") continue;
    out.push([
      pyUnquote(field.slice(0, eq).replaceAll("+", " ")),
      pyUnquote(value.replaceAll("+", " ")),
    ]);
  }
  return out;
}

const utf8 = new TextDecoder();
const utf8Encoder = new TextEncoder();

/** `urllib.parse.unquote(text)`: `%XX` escapes in ASCII runs decoded as UTF-8, errors replaced. */
export function pyUnquote(text: string): string {
  if (!text.includes("%")) return text;
  // deno-lint-ignore no-control-regex
  return text.replace(/[\x00-\x7f]+/g, (run) => {
    if (!run.includes("%")) return run;
    const bytes: number[] = [];
    for (let i = 0; i < run.length; i++) {
      const c = run.charCodeAt(i);
      if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(run.slice(i + 1, i + 3))) {
        bytes.push(parseInt(run.slice(i + 1, i + 3), 16));
        i += 2;
      } else {
        bytes.push(c);
      }
    }
    return utf8.decode(new Uint8Array(bytes));
  });
}

/** `urllib.parse.quote(text, safe="")`: everything but `A-Za-z0-9_.-~` percent-encoded. */
function pyQuote(text: string): string {
  let out = "";
  for (const byte of utf8Encoder.encode(text)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.\-~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Python's int(), float() and redis-py's to_bool(), for query values and the db

// Python's str.strip() also strips the information separators \x1c-\x1f.
// deno-lint-ignore no-control-regex
const PY_SPACE = /^[\s\x1c-\x1f\x85]+|[\s\x1c-\x1f\x85]+$/g;

/** `pyInt`'s name for the db of the URL's path (or `virtual_host`), which has its own advice. */
const DB_IN_PATH = "the database";

function pyInt(text: string, name: string): number {
  const t = text.replace(PY_SPACE, "");
  if (!/^[+-]?[0-9](_?[0-9])*$/.test(t)) {
    const what = name === DB_IN_PATH
      ? "the database is a number, e.g. redis://host:6379/1 (or ?virtual_host=1 for " +
        "redis+socket://), not a name"
      : `${name} must be a whole number`;
    throw new UrlError(
      `${what} (invalid literal for int() with base 10: '${text}')`,
      text,
      `${what}; percent-encode a password holding / ? # ; or @`,
    );
  }
  return Number(t.replaceAll("_", ""));
}

function pyFloat(text: string, name: string): number {
  const t = text.replace(PY_SPACE, "");
  const digits = "[0-9](?:_?[0-9])*";
  const number = new RegExp(
    `^[+-]?(?:(?:${digits}(?:\\.(?:${digits})?)?|\\.${digits})(?:[eE][+-]?${digits})?|inf|infinity|nan)$`,
    "i",
  );
  if (!number.test(t)) {
    throw new UrlError(
      `${name} must be a number (could not convert string to float: '${text}')`,
      text,
      `${name} must be a number`,
    );
  }
  const lower = t.toLowerCase().replace(/^\+/, "");
  if (lower === "inf" || lower === "infinity") return Infinity;
  if (lower === "-inf" || lower === "-infinity") return -Infinity;
  if (lower.endsWith("nan")) return NaN;
  return Number(t.replaceAll("_", ""));
}

/** redis-py's `to_bool`: false only for `0`, `F`, `FALSE`, `N`, `NO` (any case). */
function toBool(text: string): boolean {
  return !["0", "F", "FALSE", "N", "NO"].includes(text.toUpperCase());
}
