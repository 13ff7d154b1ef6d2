/** PostgreSQL connection URLs: what the driver is given for a `DATABASE_URL`. */

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
