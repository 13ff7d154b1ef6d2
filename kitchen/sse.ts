/**
 * `text/event-stream` over the feed. A client that sends `Last-Event-ID` (or
 * `?after=`) first gets the log above that id, read in pages, then the live
 * feed; the subscription's watermark splits the two, so nothing is missed and
 * nothing comes twice.
 */
import type { FeedEvent } from "../domain/types.ts";
import type { Feed, FeedBatch, FeedSink, Subscription } from "./feed.ts";

const enc = new TextEncoder();
const HEARTBEAT = enc.encode(": heartbeat\n\n");
/** Live events held while a replay is still running; beyond that the client is dropped. */
const MAX_PENDING_EVENTS = 20_000;

/** Every stream gets the same event objects from the feed: format each once. */
const formatted = new WeakMap<FeedEvent, string>();

/** One SSE message: `id:` (events table id), `event:` (type) and JSON `data:`. */
export function sseMessage(e: FeedEvent): string {
  let text = formatted.get(e);
  if (text === undefined) {
    text = `id: ${e.id}\nevent: ${e.type}\ndata: ${
      e.dataJson ?? JSON.stringify(e.data)
    }\n\n`;
    formatted.set(e, text);
  }
  return text;
}

function encodeAll(events: readonly FeedEvent[]): Uint8Array {
  return enc.encode(events.map(sseMessage).join(""));
}

/** Where a stream starts; `after` undefined means "from now". */
export interface EventStreamOptions {
  after?: number;
  /** Ends the stream gracefully, e.g. when the server shuts down. */
  signal?: AbortSignal;
}

/**
 * Opens an event stream on `feed`. Resolves once subscribed (the response can
 * be sent); the replay then runs in the background, respecting backpressure.
 */
export async function openEventStream(
  feed: Feed,
  opts: EventStreamOptions = {},
): Promise<ReadableStream<Uint8Array>> {
  const { maxBufferBytes, retryMs, pageSize } = feed.options;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let closed = false;
  let live = false;
  let lastSent = 0;
  let pendingEvents = 0;
  const pending: FeedBatch[] = [];
  let wake: (() => void) | null = null;
  let sub: Subscription | null = null;

  /**
   * Ends the stream. With a reason the response is aborted at once (the
   * connection closes and its queue is freed); Deno's server prints that
   * reason to stderr, so it is given as one JSON log line.
   */
  const finish = (reason?: string) => {
    if (closed) return;
    closed = true;
    opts.signal?.removeEventListener("abort", onAbort);
    sub?.close();
    wake?.();
    try {
      if (reason !== undefined) {
        controller.error(JSON.stringify({
          level: "warn",
          msg: "event stream aborted",
          reason,
          last_event_id: lastSent,
        }));
      } else controller.close();
    } catch { /* already closed or cancelled by the consumer */ }
  };
  // Server shutdown: a last retry hint, so screens come back once it restarts.
  const onAbort = () => {
    send(enc.encode(`retry: ${retryMs}\n: server shutting down\n\n`));
    finish();
  };
  // Drop when the queue is already over its budget: memory stays bounded by
  // the budget plus one batch, and a burst to a healthy client is not a drop.
  const send = (bytes: Uint8Array) => {
    if (closed || (controller.desiredSize ?? 0) <= 0) return false;
    controller.enqueue(bytes);
    return true;
  };
  const sendBatch = (batch: FeedBatch) => {
    if (batch.lastId <= lastSent) return true;
    const bytes = batch.events[0]!.id > lastSent
      ? batch.memo("sse", encodeAll)
      : encodeAll(batch.events.filter((e) => e.id > lastSent));
    lastSent = batch.lastId;
    return send(bytes);
  };
  const sink: FeedSink = {
    deliver(batch) {
      if (closed) return false;
      if (live) return sendBatch(batch);
      pending.push(batch);
      pendingEvents += batch.events.length;
      return pendingEvents <= MAX_PENDING_EVENTS;
    },
    heartbeat: () => send(HEARTBEAT),
    dropped: (reason) => finish(reason),
  };

  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      c.enqueue(enc.encode(`retry: ${retryMs}\n: connected\n\n`));
    },
    pull() {
      wake?.();
    },
    cancel() {
      finish();
    },
  }, new ByteLengthQueuingStrategy({ highWaterMark: maxBufferBytes }));

  if (opts.signal?.aborted) finish();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    sub = await feed.subscribe(sink);
  } catch (e) {
    finish();
    throw e;
  }
  if (closed) sub.close();
  const watermark = sub.watermark;

  const writable = async () => {
    while (!closed && (controller.desiredSize ?? 0) <= 0) {
      await new Promise<void>((r) => wake = r);
      wake = null;
    }
  };
  const replay = async () => {
    let cursor = opts.after ?? watermark;
    lastSent = cursor;
    while (!closed && cursor < watermark) {
      await writable();
      if (closed) return;
      const page = await feed.store.listEvents(cursor, pageSize);
      const upto = page.filter((e) => e.id <= watermark);
      if (closed) return;
      if (upto.length > 0) {
        controller.enqueue(encodeAll(upto));
        cursor = lastSent = upto[upto.length - 1]!.id;
      }
      if (upto.length < page.length || page.length < pageSize) break;
    }
    if (closed) return;
    lastSent = Math.max(lastSent, watermark);
    // Tells the client where it stands even when nothing happened yet, so its
    // first reconnect resumes from here instead of "from now".
    controller.enqueue(enc.encode(
      `id: ${lastSent}\nevent: ready\ndata: {"last_event_id":${lastSent}}\n\n`,
    ));
    for (const batch of pending.splice(0)) {
      if (!sendBatch(batch)) throw new Error("client too slow after replay");
    }
    live = true;
  };
  replay().catch((e) => finish(`replay failed: ${e}`));
  return stream;
}
