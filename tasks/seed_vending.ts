/**
 * `deno task seed:vending`: the standard vending scenario (5 machines, 10
 * products × 200) on the database DATABASE_URL names (default: the embedded
 * file). Replaces every machine and product; orders and the menu stay.
 */
import { configFromEnv } from "../config.ts";
import { openStore } from "../db/open.ts";
import { openVending } from "../db/vending_open.ts";
import { seedVending } from "../db/vending_seed.ts";

if (import.meta.main) {
  const config = configFromEnv();
  const store = await openStore(config.databaseUrl, {
    authToken: config.databaseAuthToken,
  });
  const vending = openVending(store, config);
  try {
    const { machines, products } = await seedVending(vending);
    console.error(
      `seed:vending: ${store.backend} database; ${machines} idle machines, ${products} products with 200 each`,
    );
  } finally {
    await vending.close();
    await store.close();
  }
}
