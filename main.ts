/** Starts ForkFlow: config -> store -> app -> Deno.serve. */
import { createApp } from "./app.ts";
import { ConfigError, configFromEnv } from "./config.ts";
import { openStore } from "./db/open.ts";
import { seedIfEmpty } from "./db/seed.ts";

async function main() {
  let config;
  try {
    config = configFromEnv();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`forkflow: ${e.message}`);
      Deno.exit(2);
    }
    throw e;
  }
  const store = await openStore(config.databaseUrl, {
    authToken: config.databaseAuthToken,
  });
  if (config.demoData && await seedIfEmpty(store)) {
    console.error("forkflow: demo menu seeded");
  }
  const app = createApp({ config, store });
  const purge = setInterval(() => {
    store.purgeIdempotencyKeys(config.idempotencyTtlS * 1000).catch((e) =>
      console.error(
        JSON.stringify({
          level: "error",
          msg: "purge failed",
          error: String(e),
        }),
      )
    );
  }, 60_000);
  const server = Deno.serve({
    port: config.port,
    hostname: config.host,
    onListen: ({ hostname, port }) =>
      console.error(
        `forkflow: listening on http://${hostname}:${port} (${store.backend})`,
      ),
  }, app.fetch);
  const stop = async () => {
    clearInterval(purge);
    await server.shutdown();
    await store.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}

if (import.meta.main) await main();
