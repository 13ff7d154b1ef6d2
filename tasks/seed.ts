/** `deno task seed`: wipes the database DATABASE_URL names and loads the demo menu. */
import { configFromEnv } from "../config.ts";
import { openStore } from "../db/open.ts";
import { seedDemo } from "../db/seed.ts";

if (import.meta.main) {
  const config = configFromEnv();
  const store = await openStore(config.databaseUrl, {
    authToken: config.databaseAuthToken,
  });
  try {
    await seedDemo(store, { reset: true });
    const menu = await store.listMenu();
    console.error(
      `seed: reset ${store.backend} database; ${menu.length} menu items, ${
        (await store.listInventory()).length
      } inventory items`,
    );
  } finally {
    await store.close();
  }
}
