/** Picks the backend from `DATABASE_URL`. */
import { DEFAULT_DATABASE_URL } from "../config.ts";
import { openLibsqlStore } from "./libsql_store.ts";
import { openThreadedLibsql } from "./libsql_threaded.ts";
import type { Backend, Store } from "./store.ts";

/** Options for opening a store. */
export interface OpenOptions {
  authToken?: string;
  /** Run an embedded libSQL file on its own thread (default true). */
  thread?: boolean;
}

/** Which backend a `DATABASE_URL` selects (undefined: the embedded file). */
export function backendFor(url: string | undefined): Backend {
  if (url === undefined) return "libsql";
  if (/^postgres(ql)?:\/\//i.test(url)) return "postgres";
  if (/^(file|libsql|https?|wss?):/i.test(url)) return "libsql";
  throw new Error(`Unsupported DATABASE_URL scheme in "${url.split(":")[0]}:"`);
}

/** Opens and migrates the store a `DATABASE_URL` names. */
export function openStore(
  url: string | undefined,
  opts: OpenOptions = {},
): Promise<Store> {
  const backend = backendFor(url);
  if (backend === "postgres") {
    return import("./postgres_store.ts").then((m) => m.openPostgresStore(url!));
  }
  const libsql = url ?? DEFAULT_DATABASE_URL;
  // An embedded file gets its own database thread; a remote server already is one.
  if (libsql.startsWith("file:") && opts.thread !== false) {
    return openThreadedLibsql(libsql);
  }
  return openLibsqlStore(libsql, { authToken: opts.authToken });
}
