/**
 * The database thread of an embedded libSQL store (a Web Worker).
 *
 * The native driver is synchronous: every statement, and the fsync of every
 * COMMIT, runs on the thread that calls it. Here that thread is this worker,
 * so the group-commit writer and the HTTP server each get a core. Messages
 * come from `threaded.ts`; see `ThreadMessage` there.
 *
 * @module
 */
import type { Placed } from "../../domain/types.ts";
import type { LeaseTimes } from "../../domain/vending.ts";
import { type LibsqlOptions, LibsqlStore, openLibsqlStore } from "./store.ts";
import { LibsqlVending } from "./vending.ts";
import {
  Outbox,
  packError,
  type Reply,
  type ThreadMessage,
} from "./thread_wire.ts";

interface Port {
  postMessage(message: Reply[]): void;
  onmessage: ((e: MessageEvent<ThreadMessage[]>) => void) | null;
}

const port = self as unknown as Port;
const outbox = new Outbox<Reply>((replies) => {
  try {
    port.postMessage(replies);
  } catch {
    // A value that cannot be cloned is a bug; each caller still gets an answer.
    for (const r of replies) {
      try {
        port.postMessage([r]);
      } catch (err) {
        if ("id" in r) {
          port.postMessage([{ id: r.id, ok: false, error: packError(err) }]);
        }
      }
    }
  }
});
let store: LibsqlStore | null = null;
let vending: LibsqlVending | null = null;
const aborts = new Map<number, AbortController>();

async function open(url: string, opts: LibsqlOptions) {
  store = await openLibsqlStore(url, opts);
  store.onEvents(() => outbox.push({ events: true }));
}

function target(name: "store" | "vending"): Record<string, unknown> {
  const t = name === "store" ? store : vending;
  if (!t) throw new Error(`the database thread has no ${name} open`);
  return t as unknown as Record<string, unknown>;
}

async function dispatch(m: Extract<ThreadMessage, { op: "call" }>) {
  switch (m.method) {
    case "open":
      return await open(m.args[0] as string, m.args[1] as LibsqlOptions);
    case "openVending":
      vending ??= new LibsqlVending(store!, m.args[0] as LeaseTimes);
      return;
    case "close":
      if (m.target === "vending") return await vending?.close();
      await vending?.close();
      return await store?.close();
  }
  if (m.argsJson !== undefined) m.args = JSON.parse(m.argsJson);
  const t = target(m.target);
  const fn = t[m.method];
  if (typeof fn !== "function") {
    throw new Error(`${m.target}.${m.method} is not a database operation`);
  }
  if (m.abortable) {
    const ac = new AbortController();
    aborts.set(m.id, ac);
    m.args[0] = { ...(m.args[0] as object), signal: ac.signal };
  }
  try {
    const value = await fn.apply(t, m.args);
    // The HTTP thread sends the body as it is: text clones cheaper than objects.
    if (m.method === "placeOrder") {
      const { body, ...placed } = value as Placed;
      return { ...placed, json: placed.json ?? JSON.stringify(body) };
    }
    return value;
  } finally {
    aborts.delete(m.id);
  }
}

async function handle(m: ThreadMessage) {
  if (m.op === "abort") {
    aborts.get(m.id)?.abort();
    return;
  }
  try {
    outbox.push({ id: m.id, ok: true, value: await dispatch(m) });
  } catch (err) {
    outbox.push({ id: m.id, ok: false, error: packError(err) });
  }
}

port.onmessage = (e) => {
  for (const m of e.data) handle(m);
};
