/** What every route module receives from `createApp`. */
import type { Config } from "../config.ts";
import type { Store } from "../db/store.ts";
import type { VendingStore } from "../db/vending_store.ts";
import type { InFlight } from "./_idempotency.ts";

/** Shared dependencies of the route modules. */
export interface AppDeps {
  config: Config;
  store: Store;
  inflight: InFlight;
  /** The vending orchestrator on the same database. */
  vending: VendingStore;
  /** Aborted when the server shuts down: SSE/WebSocket routes end their streams on it. */
  shutdown?: AbortSignal;
}
