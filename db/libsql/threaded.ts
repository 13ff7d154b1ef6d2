/**
 * An embedded libSQL store whose database work runs on its own thread.
 *
 * The native driver blocks the thread that calls it, and one order is about
 * ten statements plus its share of a COMMIT: on one thread the HTTP server
 * and the writer took turns on one core while the other idled. Here the
 * `LibsqlStore` (and its vending orchestrator) live in a Web Worker
 * (`worker.ts`) and this thread only sends calls and awaits answers,
 * so request parsing, validation and JSON overlap with the group commit.
 * Nothing about durability changes: a call resolves when the worker's
 * `LibsqlStore` resolves it, after COMMIT.
 *
 * @module
 */
import { IdSlots } from "../../domain/churn_tables.ts";
import { UnavailableError } from "../../domain/errors.ts";
import type { Placed } from "../../domain/types.ts";
import type { InArgs, Row } from "@libsql/client";
import { TextEvent, type TextFeedEvent } from "../../domain/text_event.ts";
import type { LibsqlOptions } from "./store.ts";
import {
  Outbox,
  type Reply,
  type ThreadMessage,
  unpackError,
} from "./thread_wire.ts";
import type { Store } from "../store.ts";
import type { VendingStore } from "../vending_store.ts";

type Target = "store" | "vending";

/** `body` of an answer that came from the database thread as JSON text. */
function parsedBody(this: Placed): unknown {
  return JSON.parse(this.json!);
}

/** The HTTP thread's end of the database thread: numbered calls and their answers. */
class DbThread {
  readonly listeners = new Set<() => void>();
  readonly #worker: Worker;
  // Not a Map: see `IdSlots` (one entry per call, thousands a second).
  readonly #pending = new IdSlots<
    { resolve: (v: unknown) => void; reject: (e: unknown) => void }
  >();
  readonly #outbox: Outbox<ThreadMessage>;
  #next = 0;
  #stopped: Error | null = null;

  constructor() {
    this.#worker = new Worker(new URL("./worker.ts", import.meta.url), {
      type: "module",
      name: "forkflow-libsql",
    });
    // Calls still unanswered (beyond those queued here) keep the database
    // thread busy: new ones can wait for the end of this turn and go together.
    this.#outbox = new Outbox(
      (batch) => this.#post(batch),
      () => this.#pending.size > this.#outbox.size,
    );
    this.#worker.onmessage = (e: MessageEvent<Reply[]>) => {
      for (const r of e.data) this.#answer(r);
    };
    this.#worker.onerror = (e) => {
      e.preventDefault();
      console.error(JSON.stringify({
        level: "error",
        msg: "libSQL database thread failed",
        error: e.message,
      }));
      this.stop(
        new UnavailableError("The database thread stopped; restart the server"),
      );
    };
  }

  #post(batch: ThreadMessage[]) {
    try {
      this.#worker.postMessage(batch);
    } catch {
      // An argument that is not data (a function, a socket) fails its own call only.
      for (const m of batch) {
        try {
          this.#worker.postMessage([m]);
        } catch (e) {
          this.#pending.take(m.id)?.reject(
            new TypeError(`Cannot send to the database thread: ${e}`),
          );
        }
      }
    }
  }

  #answer(r: Reply) {
    if ("events" in r) {
      this.listeners.forEach((l) => l());
      return;
    }
    const p = this.#pending.take(r.id);
    if (!p) return;
    if (r.ok) p.resolve(r.value);
    else p.reject(unpackError(r.error));
  }

  /** Calls `method` of the worker's store or vending; `signal` aborts an abortable call. */
  call(
    target: Target,
    method: string,
    args: unknown[],
    signal?: AbortSignal,
    opts: { asJson?: boolean } = {},
  ): Promise<unknown> {
    if (this.#stopped) {
      return method === "close"
        ? Promise.resolve()
        : Promise.reject(this.#stopped);
    }
    const id = ++this.#next;
    const message: ThreadMessage = {
      op: "call",
      id,
      target,
      method,
      ...(opts.asJson
        ? { args: [], argsJson: JSON.stringify(args) }
        : { args }),
      abortable: signal ? true : undefined,
    };
    const answer = new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#outbox.push(message);
    });
    if (!signal) return answer;
    const abort = () => this.#outbox.push({ op: "abort", id });
    if (signal.aborted) abort();
    else signal.addEventListener("abort", abort, { once: true });
    // An answered call needs no abort message later.
    return answer.finally(() => signal.removeEventListener("abort", abort));
  }

  /** Ends the thread; pending and later calls fail with `why`. */
  stop(why: Error): void {
    this.#stopped ??= why;
    this.#worker.terminate();
    for (const p of this.#pending.drain()) p.reject(why);
  }
}

const STORE_CALLS = [
  "ping",
  "listMenu",
  "getMenuItem",
  "createMenuItem",
  "updateMenuItem",
  "getOrder",
  "listOrders",
  "listActiveOrders",
  "setOrderStatus",
  "listInventory",
  "createInventoryItem",
  "changeInventory",
  "lastEventId",
  "purgeIdempotencyKeys",
  "wipe",
] as const satisfies readonly (keyof Store)[];

const VENDING_CALLS = [
  "listMachines",
  "getMachine",
  "createMachine",
  "renameMachine",
  "deleteMachine",
  "resetMachine",
  "listProducts",
  "getProduct",
  "createProduct",
  "setProductStock",
  "deleteProduct",
  "chooseProduct",
  "clear",
] as const satisfies readonly (keyof VendingStore)[];

/** Methods that forward their arguments to `target` on the thread. */
function forward<K extends string>(
  thread: DbThread,
  target: Target,
  names: readonly K[],
) {
  return Object.fromEntries(
    names.map((m) => [m, (...args: unknown[]) => thread.call(target, m, args)]),
  ) as Record<K, (...args: unknown[]) => Promise<never>>;
}

/** A `Store` whose database runs on its own thread, plus the extras of `LibsqlStore`. */
export type ThreadedLibsqlStore = Store & {
  readonly backend: "libsql";
  /** Runs a read on the worker's reader connection (tests, diagnostics). */
  read(sql: string, args?: InArgs): Promise<Row[]>;
};

/** Opens (and migrates) an embedded libSQL `file:` database on a new thread. */
export async function openThreadedLibsql(
  url: string,
  opts: LibsqlOptions = {},
): Promise<ThreadedLibsqlStore> {
  const thread = new DbThread();
  try {
    await thread.call("store", "open", [url, opts]);
  } catch (e) {
    thread.stop(e as Error);
    throw e;
  }
  let vending: VendingStore | undefined;
  return {
    backend: "libsql",
    ...forward(thread, "store", STORE_CALLS),
    async listEvents(...args) {
      // The data comes as JSON text, which the streams send as is.
      const rows = await thread.call(
        "store",
        "listEventsText",
        args,
      ) as TextFeedEvent[];
      return rows.map((r) => new TextEvent(r));
    },
    async placeOrder(...args) {
      const placed = await thread.call("store", "placeOrder", args, undefined, {
        asJson: true,
      }) as Placed;
      // Parsed only if someone reads it; routes answer with `json`. One
      // getter for every answer: a closure per answer gave each its own
      // hidden class, which kept the answer from dying young (see
      // `domain/churn_tables.ts`).
      return Object.defineProperty(placed, "body", {
        get: parsedBody,
        enumerable: true,
      });
    },
    read: (sql, args) => thread.call("store", "read", [sql, args]),
    onEvents(listener) {
      thread.listeners.add(listener);
      return () => thread.listeners.delete(listener);
    },
    vending(times) {
      if (vending) return vending;
      // Messages arrive in order, so later calls find the orchestrator open.
      thread.call("vending", "openVending", [times]).catch((e) =>
        console.error(JSON.stringify({
          level: "error",
          msg: "vending could not open on the database thread",
          error: String(e),
        }))
      );
      vending = {
        ...forward(thread, "vending", VENDING_CALLS),
        startWork: (o = {}) =>
          thread.call("vending", "startWork", [{ waitMs: o.waitMs }], o.signal)
            .then((m) => m as never),
        close: () => thread.call("vending", "close", []).then(() => {}),
      };
      return vending;
    },
    async close() {
      await thread.call("store", "close", []);
      thread.stop(new UnavailableError("The database is closed"));
    },
  } as ThreadedLibsqlStore;
}
