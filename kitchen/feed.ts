/**
 * The in-process event fan-out: ONE reader per store follows the `events`
 * table by id and hands each new batch to every subscriber (SSE streams,
 * WebSockets). Subscribers buffer on their own; one that cannot keep up is
 * dropped (it reconnects and replays by id), so nobody waits for anybody and
 * the write path never waits for a screen.
 */
import type { Store } from "../db/store.ts";
import type { FeedEvent } from "../domain/types.ts";

/** Tunables of a feed; tests shorten them. */
export interface FeedOptions {
  /** Events per read of the log (default 500). */
  pageSize?: number;
  /** Interval of the heartbeat tick sent to every subscriber (default 10 s). */
  heartbeatMs?: number;
  /**
   * How long a hole in the id sequence is waited for before it is skipped
   * (default 1 s). A hole is a transaction that took an id but has not
   * committed yet (or rolled back); waiting keeps delivery in id order, so
   * a client's last id is a safe resume point.
   */
  gapWaitMs?: number;
  /** Bytes an SSE subscriber may have queued before it is dropped (default 1 MiB). */
  maxBufferBytes?: number;
  /** The `retry:` hint sent to EventSource clients (default 1000 ms). */
  retryMs?: number;
}

/** One read's worth of events, with per-format encodings computed once for all subscribers. */
export class FeedBatch {
  #memo = new Map<string, unknown>();

  /** @param events new events, ascending by id */
  constructor(readonly events: readonly FeedEvent[]) {}

  /** Id of the newest event in the batch. */
  get lastId(): number {
    return this.events[this.events.length - 1]!.id;
  }

  /** `encode(events)` computed once per batch and format `key`. */
  memo<T>(key: string, encode: (events: readonly FeedEvent[]) => T): T {
    if (!this.#memo.has(key)) this.#memo.set(key, encode(this.events));
    return this.#memo.get(key) as T;
  }
}

/** A receiver of the feed. Callbacks must not throw; returning false drops it. */
export interface FeedSink {
  /** A batch of events with ids above the subscription's watermark, in id order. */
  deliver(batch: FeedBatch): boolean;
  /** Periodic keep-alive. */
  heartbeat?(): boolean;
  /** Called once when the feed drops this sink (too slow or broken). */
  dropped?(reason: string): void;
}

/** A live subscription: everything above `watermark` will be delivered. */
export interface Subscription {
  /** Id of the newest event already behind the feed; deliveries start after it. */
  readonly watermark: number;
  /**
   * Changes whenever the feed's position does (a batch fanned out, a restart,
   * a wiped log): subscriptions with equal generations have the same
   * watermark and the same events ahead of them, so they can share anything
   * built from the database in between.
   */
  readonly generation: number;
  /** Stops deliveries; safe to call more than once. */
  close(): void;
}

const DEFAULTS: Required<FeedOptions> = {
  pageSize: 500,
  heartbeatMs: 10_000,
  gapWaitMs: 1000,
  maxBufferBytes: 1024 * 1024,
  retryMs: 1000,
};

/** Reads the event log once per commit signal and fans it out. */
export class Feed {
  #sinks = new Set<FeedSink>();
  #opts: Required<FeedOptions>;
  /** Running epoch; bumps on every stop so stale reads are ignored. */
  #epoch = 0;
  #starting: Promise<void> | null = null;
  #cursor = 0;
  #unlisten: (() => void) | null = null;
  #dirty = false;
  #reading = false;
  #heartbeat: ReturnType<typeof setInterval> | null = null;
  #retry: ReturnType<typeof setTimeout> | null = null;
  #gap: { id: number; since: number } | null = null;
  #dropped = 0;
  #reads = 0;
  #generation = 0;

  /**
   * @param store where the events are read from
   * @param opts tunables
   */
  constructor(readonly store: Store, opts: FeedOptions = {}) {
    this.#opts = { ...DEFAULTS, ...opts };
  }

  /** Current tunables. */
  get options(): Readonly<Required<FeedOptions>> {
    return this.#opts;
  }

  /** Changes tunables; a new heartbeat interval applies at the next start. */
  configure(opts: FeedOptions): void {
    this.#opts = { ...this.#opts, ...opts };
  }

  /** Number of live subscribers (a leak shows here). */
  get subscriberCount(): number {
    return this.#sinks.size;
  }

  /** Subscribers dropped for being too slow since the feed was created. */
  get droppedCount(): number {
    return this.#dropped;
  }

  /** Log reads done since the feed was created (coalescing shows here). */
  get readCount(): number {
    return this.#reads;
  }

  /** Whether the reader is running (it stops when the last subscriber leaves). */
  get running(): boolean {
    return this.#unlisten !== null;
  }

  /** Adds `sink`; deliveries start with the first event above the returned watermark. */
  async subscribe(sink: FeedSink): Promise<Subscription> {
    while (!this.running) {
      this.#starting ??= this.#start().finally(() => this.#starting = null);
      await this.#starting;
    }
    // No await between reading the cursor and adding the sink: the sink sees
    // exactly the batches after this watermark.
    const watermark = this.#cursor;
    const generation = this.#generation;
    this.#sinks.add(sink);
    let open = true;
    return {
      watermark,
      generation,
      close: () => {
        if (!open) return;
        open = false;
        this.#remove(sink);
      },
    };
  }

  async #start(): Promise<void> {
    const epoch = ++this.#epoch;
    let dirty = false;
    const unlisten = this.store.onEvents(() => {
      if (epoch === this.#epoch && this.#unlisten) this.#signal();
      else dirty = true;
    });
    let last: number;
    try {
      last = await this.store.lastEventId();
    } catch (e) {
      unlisten();
      throw e;
    }
    if (epoch !== this.#epoch) {
      unlisten();
      return;
    }
    this.#cursor = last;
    this.#generation++;
    this.#unlisten = unlisten;
    this.#heartbeat = setInterval(() => this.#beat(), this.#opts.heartbeatMs);
    if (dirty) this.#signal();
  }

  #stop(): void {
    this.#epoch++;
    this.#unlisten?.();
    this.#unlisten = null;
    if (this.#heartbeat !== null) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
    if (this.#retry !== null) clearTimeout(this.#retry);
    this.#retry = null;
    this.#gap = null;
    this.#dirty = false;
  }

  #remove(sink: FeedSink): void {
    if (this.#sinks.delete(sink) && this.#sinks.size === 0) this.#stop();
  }

  #drop(sink: FeedSink, reason: string): void {
    if (!this.#sinks.has(sink)) return;
    this.#dropped++;
    this.#remove(sink);
    try {
      sink.dropped?.(reason);
    } catch { /* a sink's cleanup must not stop the fan-out */ }
  }

  #beat(): void {
    for (const sink of [...this.#sinks]) {
      let ok = false;
      try {
        ok = sink.heartbeat?.() ?? true;
      } catch { /* treated as broken */ }
      if (!ok) this.#drop(sink, "heartbeat could not be written");
    }
  }

  /** Coalesces commit signals: one read loop at a time, one more pass if signalled meanwhile. */
  #signal(): void {
    this.#dirty = true;
    if (this.#reading) return;
    this.#reading = true;
    const epoch = this.#epoch;
    this.#readLoop(epoch).finally(() => {
      this.#reading = false;
      // A signal that came after the loop's last check (a commit settling in
      // the microtasks before this one, or a restart while an old loop was
      // reading) found #reading still set: read again, or that event would
      // wait for the next commit.
      if (this.#dirty && this.running) this.#signal();
    });
  }

  #later(ms: number): void {
    if (this.#retry !== null || !this.running) return;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      if (this.running) this.#signal();
    }, ms);
  }

  async #readLoop(epoch: number): Promise<void> {
    while (this.#dirty && epoch === this.#epoch) {
      this.#dirty = false;
      try {
        while (await this.#readPage(epoch));
      } catch (e) {
        console.error(JSON.stringify({
          level: "error",
          msg: "event feed read failed",
          error: String(e),
        }));
        this.#later(500);
        return;
      }
    }
  }

  /** Reads and delivers one page; resolves true when there may be more. */
  async #readPage(epoch: number): Promise<boolean> {
    const size = this.#opts.pageSize;
    const page = await this.store.listEvents(this.#cursor, size);
    this.#reads++;
    if (epoch !== this.#epoch) return false;
    if (page.length === 0) {
      // The log was wiped (ids restart): follow it rather than wait forever.
      const last = await this.store.lastEventId();
      if (epoch !== this.#epoch || last >= this.#cursor) return false;
      this.#cursor = 0;
      this.#generation++;
      return true;
    }
    const ready = this.#inOrder(page);
    if (ready.length > 0) {
      this.#cursor = ready[ready.length - 1]!.id;
      this.#fanOut(new FeedBatch(ready));
    }
    return ready.length === page.length && page.length === size;
  }

  /** The prefix of `page` without holes, or past a hole that waited long enough. */
  #inOrder(page: FeedEvent[]): FeedEvent[] {
    let expect = this.#cursor + 1;
    let n = 0;
    for (const e of page) {
      if (e.id > expect) {
        const now = Date.now();
        if (this.#gap?.id !== expect) this.#gap = { id: expect, since: now };
        const waited = now - this.#gap.since;
        if (waited < this.#opts.gapWaitMs) {
          this.#later(Math.min(50, this.#opts.gapWaitMs - waited));
          break;
        }
        this.#gap = null;
      }
      expect = e.id + 1;
      n++;
    }
    return n === page.length ? page : page.slice(0, n);
  }

  #fanOut(batch: FeedBatch): void {
    this.#generation++;
    for (const sink of [...this.#sinks]) {
      let ok = false;
      try {
        ok = sink.deliver(batch);
      } catch { /* treated as broken */ }
      if (!ok) this.#drop(sink, "subscriber too slow");
    }
  }
}

const FEEDS = new WeakMap<Store, Feed>();

/** The one feed of `store` in this process; `opts` (tests) adjust its tunables. */
export function feedOf(store: Store, opts?: FeedOptions): Feed {
  let feed = FEEDS.get(store);
  if (!feed) {
    feed = new Feed(store, opts);
    FEEDS.set(store, feed);
  } else if (opts) {
    feed.configure(opts);
  }
  return feed;
}
