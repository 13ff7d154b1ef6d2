/**
 * The Bistro92 live order socket, `/ws/orders`: `initial` (the newest orders)
 * on connect, then `new_order` for every order, each exactly once.
 *
 * The `initial` text is built once per feed generation and shared by every
 * socket that connects until the feed moves on, so a thousand connects cost
 * one list read and one string, not a thousand of each.
 */
import { Hono } from "hono";
import { upgradeWebSocket } from "@hono/node-server";
import { UnavailableError } from "../domain/errors.ts";
import type { Order } from "../domain/types.ts";
import { bistroOrder, orderJson } from "../domain/wire.ts";
import type {
  Feed,
  FeedBatch,
  FeedSink,
  Subscription,
} from "../kitchen/feed.ts";
import { feedOf } from "../kitchen/feed.ts";
import type { Store } from "../db/store.ts";
import type { AppDeps } from "./_deps.ts";
import { type ListGate, listGateOf } from "./_list_gate.ts";

/** Orders sent in the socket's `initial` message (newest first). */
const INITIAL_ORDERS = 1000;
/** Bytes a socket may have unsent, beyond its `initial`, before it is dropped as too slow. */
const MAX_SOCKET_BUFFER = 1024 * 1024;

type NativeOrder = ReturnType<typeof orderJson>;

/** One `initial` message, shared by the sockets of one feed generation. */
interface Snapshot {
  text: string;
  /** UTF-8 size of `text`. */
  bytes: number;
  /** Orders in `text`: their `new_order` must not follow. */
  ids: Set<number>;
  /** The event log's last id read after the list: no later event is one of `ids`. */
  upTo: number;
}

const enc = new TextEncoder();

async function buildSnapshot(store: Store, gate: ListGate): Promise<Snapshot> {
  return await gate.run(async () => {
    const orders = await store.listOrders({ limit: INITIAL_ORDERS });
    const upTo = await store.lastEventId();
    const list = orders.map((o: Order) => bistroOrder(orderJson(o)));
    const text = JSON.stringify({ type: "initial", orders: list });
    return {
      text,
      bytes: enc.encode(text).length,
      ids: new Set(list.map((o) => o.id)),
      upTo,
    };
  });
}

/** The current `initial` of a store's feed, rebuilt only when the feed moved. */
class Snapshots {
  #current: { generation: number; snapshot: Promise<Snapshot> } | null = null;

  constructor(readonly store: Store, readonly gate: ListGate) {}

  /**
   * A snapshot holding every order up to `sub`'s watermark. A build started
   * in the same generation started after that watermark was reached.
   */
  for(sub: Subscription): Promise<Snapshot> {
    const cur = this.#current;
    if (cur && cur.generation === sub.generation) return cur.snapshot;
    const snapshot = buildSnapshot(this.store, this.gate);
    const entry = { generation: sub.generation, snapshot };
    this.#current = entry;
    // A failed build (the gate refused it) is not kept for later sockets.
    snapshot.catch(() => {
      if (this.#current === entry) this.#current = null;
    });
    return snapshot;
  }
}

const SNAPSHOTS = new WeakMap<Store, Snapshots>();

function snapshotsOf(store: Store): Snapshots {
  let s = SNAPSHOTS.get(store);
  if (!s) {
    s = new Snapshots(store, listGateOf(store));
    SNAPSHOTS.set(store, s);
  }
  return s;
}

function newOrderMessages(batch: FeedBatch) {
  return batch.memo(
    "bistro.new_order",
    (events) =>
      events.filter((e) => e.type === "order.created").map((e) => {
        const order = bistroOrder(e.data as NativeOrder);
        return {
          id: order.id,
          text: JSON.stringify({ type: "new_order", order }),
        };
      }),
  );
}

function logFailure(e: unknown) {
  console.error(JSON.stringify({
    level: "error",
    msg: "order socket failed",
    error: String(e),
  }));
}

/** One socket's view of the feed: `initial` first, then every `new_order` once. */
function socketSession(feed: Feed, store: Store, shutdown?: AbortSignal) {
  let socket: WebSocket | null = null;
  let sub: Subscription | null = null;
  let closed = false;
  let live = false;
  /** The `initial` sent, while a batch may still repeat one of its orders. */
  let sent: Snapshot | null = null;
  let budget = MAX_SOCKET_BUFFER;
  const pending: FeedBatch[] = [];
  // As SSE does: refuse to queue more once the unsent bytes are over budget.
  const write = (text: string) => {
    if (socket!.bufferedAmount > budget) return false;
    socket!.send(text);
    return true;
  };
  const send = (batch: FeedBatch) => {
    for (const m of newOrderMessages(batch)) {
      if (sent?.ids.has(m.id)) continue;
      if (!write(m.text)) return false;
    }
    if (sent && batch.lastId >= sent.upTo) sent = null;
    return true;
  };
  const sink: FeedSink = {
    deliver(batch) {
      if (closed || !socket || socket.readyState !== WebSocket.OPEN) {
        return false;
      }
      if (live) return send(batch);
      pending.push(batch);
      return pending.length <= 10_000;
    },
    heartbeat: () => !socket || socket.bufferedAmount <= budget,
    dropped() {
      closed = true;
      socket?.close(1013, "Too slow, reconnect");
    },
  };
  const goingAway = () => socket?.close(1001, "Server shutting down");
  const close = () => {
    closed = true;
    sub?.close();
    shutdown?.removeEventListener("abort", goingAway);
  };
  const fail = (code: number, reason: string) => {
    close();
    if (socket?.readyState === WebSocket.OPEN) socket.close(code, reason);
  };
  return {
    async open(ws: WebSocket) {
      socket = ws;
      if (shutdown?.aborted) return goingAway();
      shutdown?.addEventListener("abort", goingAway, { once: true });
      try {
        sub = await feed.subscribe(sink);
        if (closed) return sub.close();
        const snapshot = await snapshotsOf(store).for(sub);
        if (closed) return;
        ws.send(snapshot.text);
        // The initial itself may be large: it is allowed on top of the budget.
        budget = MAX_SOCKET_BUFFER + snapshot.bytes;
        sent = snapshot;
        for (const batch of pending.splice(0)) {
          if (!send(batch)) return fail(1013, "Too slow, reconnect");
        }
        live = true;
      } catch (e) {
        if (e instanceof UnavailableError) {
          return fail(1013, "Busy, reconnect shortly");
        }
        logFailure(e);
        fail(1011, "Server error");
      }
    },
    /** Answers a text frame, unless the client is not reading its answers. */
    echo(message: string) {
      if (closed || !socket) return;
      if (!write(JSON.stringify({ type: "echo", message }))) {
        fail(1013, "Too slow, reconnect");
      }
    },
    close,
  };
}

/** Mounted at `/ws`: the Bistro92 live order socket. */
export function bistroSocketRoutes({ store, shutdown }: AppDeps) {
  const feed = feedOf(store);
  return new Hono().get(
    "/orders",
    upgradeWebSocket(() => {
      const session = socketSession(feed, store, shutdown);
      return {
        // `ws.raw` is a `ws` socket: the same send/close/readyState/bufferedAmount.
        onOpen: (_evt, ws) => void session.open(ws.raw as unknown as WebSocket),
        onMessage: (evt) => {
          const message = typeof evt.data === "string"
            ? evt.data
            : new TextDecoder().decode(evt.data as ArrayBuffer);
          session.echo(message);
        },
        onClose: () => session.close(),
        onError: () => session.close(),
      };
    }),
    (c) =>
      c.json({ detail: "This endpoint speaks WebSocket only" }, 426, {
        Upgrade: "websocket",
      }),
  );
}
