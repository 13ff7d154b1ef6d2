/** Kitchen screens for the load task: open `/kitchen/events` streams that count `order.created`. */

/**
 * Counts a byte pattern across the chunks of a stream, without decoding them.
 *
 * At 6,000 orders/s four kitchen streams carry about 24,000 events a second,
 * and reading them cost the load client about 10 µs per order (runs with
 * `--sse 0` against 4). Decoding every chunk to text and splitting it into
 * lines only to count one of them was part of that: counting bytes saved
 * 2–4 µs per order in alternated runs, on the same cores as the server. The
 * pattern includes the newline on both sides, so it matches whole lines only
 * (SSE data is one line of JSON, whose newlines are escaped).
 */
export class ByteCounter {
  readonly #pattern: Uint8Array;
  /** The stream's last `pattern.length - 1` bytes, where a match may begin. */
  #tail = new Uint8Array(0);

  constructor(pattern: string) {
    this.#pattern = new TextEncoder().encode(pattern);
    if (this.#pattern.length < 2) {
      throw new RangeError("the pattern needs at least two bytes");
    }
  }

  /** Occurrences that end inside `chunk`. */
  count(chunk: Uint8Array): number {
    const keep = this.#pattern.length - 1;
    let n = 0;
    if (this.#tail.length > 0) {
      // Matches that start in the tail and end in this chunk.
      const joint = new Uint8Array(
        this.#tail.length + Math.min(keep, chunk.length),
      );
      joint.set(this.#tail);
      joint.set(
        chunk.subarray(0, joint.length - this.#tail.length),
        this.#tail.length,
      );
      n += this.#scan(joint, this.#tail.length);
    }
    n += this.#scan(chunk, chunk.length);
    if (chunk.length >= keep) {
      this.#tail = chunk.slice(chunk.length - keep);
    } else {
      const both = new Uint8Array(this.#tail.length + chunk.length);
      both.set(this.#tail);
      both.set(chunk, this.#tail.length);
      this.#tail = both.slice(Math.max(0, both.length - keep));
    }
    return n;
  }

  /** Matches in `bytes` that start before `startsBefore`. */
  #scan(bytes: Uint8Array, startsBefore: number): number {
    const p = this.#pattern;
    let n = 0;
    for (let i = bytes.indexOf(p[0]!); i >= 0 && i < startsBefore;) {
      let j = 1;
      while (j < p.length && bytes[i + j] === p[j]) j++;
      if (j === p.length) n++;
      i = bytes.indexOf(p[0]!, i + 1);
    }
    return n;
  }
}

/** Kitchen screens: open streams on /kitchen/events that count `order.created` events. */
export class KitchenStreams {
  readonly seen: number[] = [];
  skipped?: string;
  readonly #readers: ReadableStreamDefaultReader<Uint8Array>[] = [];
  readonly #done: Promise<void>[] = [];

  /** Opens `n` streams; notes a skip when the route does not exist. */
  async open(base: string, n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const o = await fetch(`${base}/kitchen/events`).catch((e: Error) => e);
      if (o instanceof Error || o.status !== 200 || !o.body) {
        if (!(o instanceof Error)) await o.body?.cancel();
        this.skipped = o instanceof Error
          ? `could not connect to /kitchen/events (${o.message}); kitchen streams skipped`
          : `GET /kitchen/events answered ${o.status}; kitchen streams skipped`;
        return;
      }
      const reader = o.body.getReader();
      this.seen.push(0);
      this.#readers.push(reader);
      this.#done.push(this.#read(reader, i));
    }
  }

  async #read(reader: ReadableStreamDefaultReader<Uint8Array>, i: number) {
    // Every event starts with its `id:` line, so its `event:` line follows a newline.
    const created = new ByteCounter("\nevent: order.created\n");
    try {
      while (true) {
        const { done, value } = await reader.read();
        if (done) return;
        this.seen[i]! += created.count(value);
      }
    } catch { /* cancelled by close() */ }
  }

  /** Waits up to `ms` for every stream to have seen `expected` creations, then closes them. */
  async close(expected: number, ms = 5000): Promise<void> {
    const until = performance.now() + ms;
    while (this.seen.some((s) => s < expected) && performance.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await Promise.all(
      this.#readers.splice(0).map((r) => r.cancel().catch(() => {})),
    );
    await Promise.all(this.#done);
  }
}
