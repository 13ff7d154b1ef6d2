/** Picks the backend from `DATABASE_URL`. */
import { DEFAULT_DATABASE_URL } from "../config.ts";
import { openLibsqlStore } from "./libsql/store.ts";
import { openThreadedLibsql } from "./libsql/threaded.ts";
import type { Store } from "./store.ts";
import { backendFor } from "../domain/database_url.ts";

/** Options for opening a store. */
export interface OpenOptions {
  authToken?: string;
  /** Run an embedded libSQL file on its own thread (default true). */
  thread?: boolean;
}

/** Opens and migrates the store a `DATABASE_URL` names. */
export function openStore(
  url: string | undefined,
  opts: OpenOptions = {},
): Promise<Store> {
  const backend = backendFor(url);
  if (backend === "postgres") {
    return import("./postgres/store.ts").then((m) => m.openPostgresStore(url!));
  }
  const libsql = url ?? DEFAULT_DATABASE_URL;
  // An embedded file gets its own database thread; a remote server already is one.
  if (libsql.startsWith("file:") && opts.thread !== false) {
    return openThreadedLibsql(libsql);
  }
  return openLibsqlStore(libsql, { authToken: opts.authToken });
}
