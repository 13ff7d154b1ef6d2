/** Starts ForkFlow: config -> store -> app -> serve, and stops it gracefully. */
import { createApp } from "./app.ts";
import { type Config, ConfigError, configFromEnv } from "./config.ts";
import { openStore } from "./db/open.ts";
import { seedIfEmpty } from "./db/seed.ts";
import type { Store } from "./db/store.ts";
import { type RunningServer, serve } from "./serve.ts";
import { BufferedSink, Logger } from "./routes/_log.ts";

/** Longest wait for in-flight requests before the store is closed anyway. */
const SHUTDOWN_GRACE_MS = 10_000;

function loadOrExit(): Config {
  try {
    return configFromEnv();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`forkflow: ${e.message}`);
      Deno.exit(2);
    }
    throw e;
  }
}

async function main() {
  const config = loadOrExit();
  const sink = new BufferedSink(Deno.stdout);
  const logger = new Logger(config.logLevel, sink);
  const store = await openStore(config.databaseUrl, {
    authToken: config.databaseAuthToken,
  });
  if (config.demoData && await seedIfEmpty(store)) {
    console.error("forkflow: demo menu seeded");
  }
  if (config.adminToken === undefined) {
    console.error(
      "forkflow: no ADMIN_TOKEN set, every route is open (fine on loopback)",
    );
  }
  const shutdown = new AbortController();
  const app = createApp({
    config,
    store,
    log: sink,
    shutdown: shutdown.signal,
  });
  const purge = setInterval(() => {
    store.purgeIdempotencyKeys(config.idempotencyTtlS * 1000).catch((e) =>
      logger.log("error", "purge failed", { error: String(e) })
    );
  }, 60_000);
  const server = serve(app.fetch, {
    port: config.port,
    hostname: config.host,
    headerTimeoutMs: config.headerTimeoutMs,
    maxConnections: config.maxConnections,
    backlog: config.listenBacklog,
    maxBodyBytes: config.maxBodyBytes,
    onListen: ({ hostname, port }) =>
      console.error(
        `forkflow: listening on http://${hostname}:${port} (${store.backend})`,
      ),
    warn: (msg, fields) => logger.log("warn", msg, fields),
  });
  await server.listening;

  let stopping = false;
  const stop = (signal: Deno.Signal) => {
    if (stopping) {
      console.error(`forkflow: second ${signal}, exiting without draining`);
      sink.flush();
      Deno.exit(1);
    }
    stopping = true;
    clearInterval(purge);
    drain(signal, { server, store, shutdown, sink }).then(
      () => Deno.exit(0),
      (e) => {
        console.error(`forkflow: shutdown failed: ${e}`);
        Deno.exit(1);
      },
    );
  };
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
}

/**
 * Stops accepting, ends live streams (they send a final retry hint on the
 * abort), waits for in-flight requests, then lets the store commit every
 * queued write before it closes.
 */
async function drain(
  signal: Deno.Signal,
  { server, store, shutdown, sink }: {
    server: RunningServer;
    store: Store;
    shutdown: AbortController;
    sink: BufferedSink;
  },
) {
  console.error(`forkflow: ${signal} received, finishing in-flight requests`);
  shutdown.abort();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const finished = await Promise.race([
    server.shutdown().then(() => true),
    new Promise<false>((r) => timer = setTimeout(r, SHUTDOWN_GRACE_MS, false)),
  ]);
  clearTimeout(timer);
  if (!finished) {
    console.error(
      `forkflow: requests still open after ${SHUTDOWN_GRACE_MS} ms, closing anyway`,
    );
    server.closeAll();
  }
  await store.close();
  sink.flush();
  console.error("forkflow: stopped; every acknowledged write is committed");
}

if (import.meta.main) await main();
