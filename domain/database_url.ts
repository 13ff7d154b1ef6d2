/**
 * The grammar of `DATABASE_URL`, shared by config.ts (which refuses a bad one
 * at start) and db/ (which opens it): which backend it names, and the libpq
 * way of naming a PostgreSQL socket folder.
 */

/** Which database a store talks to. */
export type Backend = "libsql" | "postgres";

/** Which backend a `DATABASE_URL` selects (undefined: the embedded file). */
export function backendFor(url: string | undefined): Backend {
  if (url === undefined) return "libsql";
  if (/^postgres(ql)?:\/\//i.test(url)) return "postgres";
  if (/^(file|libsql|https?|wss?):/i.test(url)) return "libsql";
  throw new Error(`Unsupported DATABASE_URL scheme in "${url.split(":")[0]}:"`);
}

/**
 * Separates a Unix-socket directory given the libpq way
 * (`postgres://user@/db?host=/run/postgresql`): the driver would send `host`
 * to the server as a setting, and it connects to a socket only when told the
 * directory as its `host` option. A local database answers over the socket
 * without the TCP stack on either side.
 */
export function splitSocketDir(
  url: string,
): { url: string; socketDir: string | null } {
  const m = /[?&]host=([^&#]*)/.exec(url);
  if (!m) return { url, socketDir: null };
  let dir: string;
  try {
    dir = decodeURIComponent(m[1]!);
  } catch {
    throw new Error(
      `host= has a broken percent-escape ("%" must be followed by two hex digits, e.g. %2F for "/"), got "${
        m[1]
      }"`,
    );
  }
  if (!dir.startsWith("/")) {
    throw new Error(
      `host= must name a socket folder by its absolute path, got "${dir}"`,
    );
  }
  const after = url.slice(m.index + m[0].length);
  // `?host=…&a=1` keeps `?a=1`; `?a=1&host=…&b=2` keeps `?a=1&b=2`.
  const rest = url.slice(0, m.index) +
    (m[0].startsWith("?") ? "?" + after.replace(/^&/, "") : after);
  // The driver parses the URL with `new URL`, which needs a host name: the
  // socket directory replaces it anyway.
  const named = rest.replace(/\?$/, "").replace(
    /^(postgres(?:ql)?:\/\/(?:[^@/?]*@)?)(?=[:/?]|$)/i,
    "$1localhost",
  );
  return { url: named, socketDir: dir };
}
