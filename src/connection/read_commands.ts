/**
 * The Redis commands that only read (data or the server's state): a driver may resend one after a
 * lost answer, and a replica has nothing of it to confirm. One list for the retrying, HTTP and
 * Sentinel drivers, which each add their own cases.
 *
 * @module
 */

/** Commands that change nothing on the server. */
export const READ_COMMANDS: ReadonlySet<string> = new Set([
  "GET",
  "MGET",
  "GETRANGE",
  "STRLEN",
  "EXISTS",
  "TTL",
  "PTTL",
  "TYPE",
  "KEYS",
  "SCAN",
  "DBSIZE",
  "LLEN",
  "LRANGE",
  "LINDEX",
  "ZRANGE",
  "ZRANGEBYSCORE",
  "ZREVRANGE",
  "ZCOUNT",
  "ZCARD",
  "ZSCORE",
  "ZRANK",
  "SMEMBERS",
  "SISMEMBER",
  "SCARD",
  "HGET",
  "HGETALL",
  "HMGET",
  "HLEN",
  "HEXISTS",
  "PING",
  "ECHO",
  "TIME",
  "INFO",
  "ROLE",
  "PUBSUB",
]);
