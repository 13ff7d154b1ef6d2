/** Test plumbing: temporary stores on every available backend, configs, a real server. */
import { createApp } from "../app.ts";
import { type Config, loadConfig, openFilesLimit } from "../config.ts";
import { openThreadedLibsql } from "../db/libsql/threaded.ts";
import type { Backend, Store } from "../db/store.ts";
import { postgresTestBackend } from "./_postgres.ts";
import { type FetchHandler, serve } from "../serve.ts";

/** A store on a fresh, empty database, and how to throw it away. */
export interface TestDb {
  store: Store;
  /** The `DATABASE_URL` of this database (to start a server process on it). */
  url: string;
  cleanup(): Promise<void>;
}

/** A backend the suites run against; `skip` says why it cannot run here. */
export interface TestBackend {
  name: Backend;
  skip?: string;
  open(): Promise<TestDb>;
}

/** A config built from literals (no environment), with overrides. */
export function testConfig(over: Partial<Config> = {}): Config {
  return { ...loadConfig({ DEMO_DATA: "0" }), ...over };
}

/** A libSQL store on a new temporary file, on its own thread as the server runs it. */
export async function openTempLibsql(): Promise<TestDb> {
  const dir = await Deno.makeTempDir({ prefix: "forkflow-test-" });
  const url = `file:${dir}/test.db`;
  const store = await openThreadedLibsql(url);
  return {
    store,
    url,
    async cleanup() {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/**
 * Every backend the suites run against on this machine: libSQL always,
 * PostgreSQL when `tests/_postgres.ts` finds or starts a cluster.
 */
export function backends(): TestBackend[] {
  return [{ name: "libsql", open: openTempLibsql }, postgresTestBackend()];
}

/** An app over a fresh database of `backend`, with its config. */
export async function testApp(
  backend: TestBackend,
  over: Partial<Config> = {},
) {
  const db = await backend.open();
  const config = testConfig(over);
  const app = createApp({ config, store: db.store });
  return { ...db, app, config };
}

/** Serves `fetch` as production does (`serve`) on a random loopback port for the duration of `fn`. */
export async function withServer<T>(
  handler: FetchHandler,
  fn: (base: string) => Promise<T>,
): Promise<T> {
  // The limits this test process really has, as main.ts would derive them.
  const config = loadConfig({}, { openFiles: openFilesLimit() });
  const server = serve(handler, {
    port: 0,
    hostname: "127.0.0.1",
    headerTimeoutMs: config.headerTimeoutMs,
    maxConnections: config.maxConnections,
    backlog: config.listenBacklog,
    maxBodyBytes: config.maxBodyBytes,
  });
  const { port } = await server.listening;
  try {
    return await fn(`http://127.0.0.1:${port}`);
  } finally {
    // A test that failed with a stream still open would otherwise wait here
    // forever and hide its own error.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stuck = new Promise<boolean>((r) =>
      timer = setTimeout(() => r(true), 5000)
    );
    if (await Promise.race([server.shutdown().then(() => false), stuck])) {
      console.error(
        "withServer: shutdown still waiting for an open response after 5 s",
      );
      server.closeAll();
    }
    clearTimeout(timer);
  }
}

/** JSON request helper for `app.request`. */
export function jsonReq(
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  return {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  };
}

/** Creates a tracked or untracked menu item through the store; returns its id. */
export async function addItem(
  store: Store,
  over: Partial<
    {
      name: string;
      priceCents: number;
      stock: number | null;
      available: boolean;
      category: string;
    }
  > = {},
): Promise<number> {
  const item = await store.createMenuItem({
    name: over.name ?? `Dish ${crypto.randomUUID().slice(0, 8)}`,
    description: "",
    priceCents: over.priceCents ?? 1000,
    category: over.category ?? "Mains",
    available: over.available ?? true,
    stock: over.stock ?? null,
  });
  return item.id;
}

/** What `testEachBackend` hands each test: an app over a fresh database. */
export type TestCtx = Awaited<ReturnType<typeof testApp>>;

/** Registers `fn` once per backend, each run on a fresh database; skips are visible. */
export function testEachBackend(
  name: string,
  fn: (t: TestCtx) => Promise<void>,
  over: Partial<Config> = {},
): void {
  for (const backend of backends()) {
    Deno.test({
      name: `[${backend.name}] ${name}${
        backend.skip ? ` (skipped: ${backend.skip})` : ""
      }`,
      ignore: backend.skip !== undefined,
      async fn() {
        const t = await testApp(backend, over);
        try {
          await fn(t);
        } finally {
          await t.cleanup();
        }
      },
    });
  }
}
