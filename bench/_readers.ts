// The read workloads of read_results.ts, shared by every client: the same ids, the same batching,
// the same check of every decoded meta. A "reader" reads one task (GET + decode) or many (one
// MGET + decode); the workload decides how many are in flight.

/** What the workloads need from a client. */
export interface Reader {
  readonly name: string;
  /** GET + decode of one task's meta. */
  one(index: number): Promise<{ status: unknown }>;
  /** One MGET + decode of the tasks `from` … `to - 1`. */
  many(from: number, to: number): Promise<{ status: unknown }[]>;
  close(): Promise<void>;
}

/** A workload reads every one of `n` tasks once and returns how many it checked. */
export interface Mode {
  readonly key: string;
  readonly label: string;
  run(reader: Reader, n: number): Promise<number>;
}

function check(
  meta: { status: unknown } | null | undefined,
  reader: Reader,
): void {
  if (meta?.status !== "SUCCESS") {
    throw new Error(
      `${reader.name} read a meta with status ${String(meta?.status)}`,
    );
  }
}

/** `window` GETs in flight at a time (Promise.all over each window of ids). */
export function concurrentGets(window: number): Mode {
  return {
    key: "get",
    label: `GET, ${window.toLocaleString("en-US")} concurrent`,
    async run(reader, n) {
      let count = 0;
      for (let start = 0; start < n; start += window) {
        const end = Math.min(n, start + window);
        const pending: Promise<{ status: unknown }>[] = new Array(end - start);
        for (let i = start; i < end; i++) pending[i - start] = reader.one(i);
        const metas = await Promise.all(pending);
        for (const meta of metas) check(meta, reader);
        count += metas.length;
      }
      return count;
    },
  };
}

/** MGETs of `batch` keys, `inflight` of them at a time. */
export function batchedMgets(batch: number, inflight: number): Mode {
  return {
    key: inflight === 1 ? "mget1" : "mget",
    label: inflight === 1
      ? `MGET of ${batch}, one at a time`
      : `MGET of ${batch}, ${inflight} in flight`,
    async run(reader, n) {
      let count = 0;
      const step = batch * inflight;
      for (let start = 0; start < n; start += step) {
        const calls: Promise<{ status: unknown }[]>[] = [];
        for (
          let from = start;
          from < Math.min(n, start + step);
          from += batch
        ) {
          calls.push(reader.many(from, Math.min(n, from + batch)));
        }
        for (const metas of await Promise.all(calls)) {
          for (const meta of metas) check(meta, reader);
          count += metas.length;
        }
      }
      return count;
    },
  };
}
