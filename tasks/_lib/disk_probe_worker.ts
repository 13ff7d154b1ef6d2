/// <reference lib="deno.worker" />
/**
 * The disk probe's thread (see `disk_probe.ts`): every `everyMs` it writes a
 * 4 KiB block to its own file and waits for `fdatasync`, the same wait a
 * durable commit has, and keeps when each sync ended and how long it took.
 * It runs on its own thread so that neither the load client's busy event
 * loop delays the samples nor a slow sync stalls the load client.
 *
 * Messages in: `{ start: { path, everyMs, live } }`, then `{ stop: true }`.
 * Messages out: `{ started: true }` once the file is ready (or
 * `{ error: string }`); with `live`, `{ sync: [end, ms] }` after each sync;
 * and after stop `{ samples: Float64Array }` as (end time since the epoch in
 * ms, duration in ms) pairs.
 *
 * @module
 */

const BLOCK = 4096;
/** Blocks the file holds; the probe writes them round and round. */
const BLOCKS = 64;

let stopped = false;
let wake: (() => void) | undefined;

async function probe(
  path: string,
  everyMs: number,
  live: boolean,
): Promise<Float64Array<ArrayBuffer>> {
  const file = Deno.openSync(path, {
    read: true,
    write: true,
    create: true,
    truncate: true,
  });
  try {
    // Allocated and synced up front: the timed syncs overwrite blocks in
    // place, as a database's log writes do once its file exists.
    file.writeSync(new Uint8Array(BLOCK * BLOCKS));
    file.syncSync();
    self.postMessage({ started: true });
    const block = new Uint8Array(BLOCK).fill(0x2a);
    const out: number[] = [];
    for (let i = 0; !stopped; i++) {
      file.seekSync((i % BLOCKS) * BLOCK, Deno.SeekMode.Start);
      const t = performance.now();
      file.writeSync(block);
      file.syncDataSync();
      const end = performance.now();
      out.push(performance.timeOrigin + end, end - t);
      if (live) {
        self.postMessage({ sync: [performance.timeOrigin + end, end - t] });
      }
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, Math.max(0, everyMs - (performance.now() - t)));
      });
    }
    return Float64Array.from(out);
  } finally {
    file.close();
    Deno.removeSync(path);
  }
}

self.onmessage = (e: MessageEvent) => {
  if (e.data?.stop) {
    stopped = true;
    wake?.();
    return;
  }
  const { path, everyMs, live } = e.data.start as {
    path: string;
    everyMs: number;
    live?: boolean;
  };
  probe(path, everyMs, live === true).then(
    (samples) => self.postMessage({ samples }, [samples.buffer]),
    (err) => self.postMessage({ error: String(err?.message ?? err) }),
  );
};
