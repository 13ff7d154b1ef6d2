/** The PostgreSQL test backend. */
import type { TestBackend } from "./_helpers.ts";

/** PostgreSQL for the suites; skipped until the PostgreSQL store exists. */
export function postgresTestBackend(): TestBackend {
  return {
    name: "postgres",
    skip: "the PostgreSQL store is not built yet",
    open: () => Promise.reject(new Error("no PostgreSQL store")),
  };
}
