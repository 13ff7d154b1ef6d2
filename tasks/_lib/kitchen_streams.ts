/** Kitchen screens for the load task: open `/kitchen/events` streams that count `order.created`. */

/** Kitchen screens: open streams on /kitchen/events that count `order.created` events. */
export class KitchenStreams {
  readonly seen: number[] = [];
  skipped?: string;
  readonly #readers: ReadableStreamDefaultReader<string>[] = [];
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
      const reader = o.body.pipeThrough(new TextDecoderStream()).getReader();
      this.seen.push(0);
      this.#readers.push(reader);
      this.#done.push(this.#read(reader, i));
    }
  }

  async #read(reader: ReadableStreamDefaultReader<string>, i: number) {
    let rest = "";
    try {
      while (true) {
        const { done, value } = await reader.read();
        if (done) return;
        const lines = (rest + value).split("\n");
        rest = lines.pop()!;
        for (const l of lines) {
          if (l === "event: order.created") this.seen[i]!++;
        }
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
