// Probes of the server's pub/sub state, for tests that wait until a consumer has subscribed (or
// has let go) instead of sleeping.
import { consumerFor, PollingConsumer, type RedisBackend, type RedisDriver } from "../mod.ts";
import { sleep, until } from "./_time.ts";

/** How many subscribers the server counts on each channel (`PUBSUB NUMSUB`). */
export async function subscriberCounts(driver: RedisDriver, names: string[]): Promise<number[]> {
  const reply = await driver.send(["PUBSUB", "NUMSUB", ...names]) as unknown[];
  return names.map((_, i) => Number(reply[2 * i + 1]));
}

/**
 * Waits until the backend's consumer watches every task: the server reports a subscriber on each
 * task's channel (pub/sub consumers), or a poll has read every key (the polling consumer).
 */
export async function watching(backend: RedisBackend, taskIds: string[]): Promise<void> {
  const keys = taskIds.map((id) => backend.keys.task(id));
  const consumer = consumerFor(backend);
  if (consumer instanceof PollingConsumer) {
    const from = consumer.ticks;
    // A tick counted at `from + 1` started after the waits were added, so it read every key.
    return await until(`a poll of ${keys.length} keys`, () => consumer.ticks >= from + 2);
  }
  for (let i = 0; i < keys.length; i += 500) {
    const batch = keys.slice(i, i + 500);
    await until(
      `subscriptions to ${batch.length} channels`,
      async () => (await subscriberCounts(backend.driver, batch)).every((n) => n >= 1),
    );
  }
}

/** Channels the server has subscriptions for, as `PUBSUB CHANNELS` reports. */
export async function channels(driver: RedisDriver): Promise<string[]> {
  const reply = await driver.send(["PUBSUB", "CHANNELS"]);
  return (reply as Uint8Array[]).map((c) => new TextDecoder().decode(c)).sort();
}

/**
 * Waits until no channel is subscribed, and returns those left (none, unless one leaked).
 * Unsubscribes are confirmed asynchronously (over HTTP streaming, by re-opening the stream), so a
 * loaded CI machine gets time; a leak still fails.
 */
export async function noChannelsLeft(driver: RedisDriver, withinMs = 10_000): Promise<string[]> {
  const start = Date.now();
  let left = await channels(driver);
  while (left.length > 0 && Date.now() - start < withinMs) {
    await sleep(10);
    left = await channels(driver);
  }
  return left;
}
