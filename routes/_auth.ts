/**
 * Roles. One table maps (method, path pattern) to the access a request needs;
 * the first matching rule wins and the last rule denies every other write to
 * all but the admin, so routes added later are covered without an edit here.
 * Only active when `ADMIN_TOKEN` (and optionally `STAFF_TOKEN`) is set.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { Config } from "../config.ts";

/**
 * What a rule asks for: `public` never needs a token; `read` and `order` need
 * staff only when `PROTECT_READS` / `PROTECT_ORDERING` is on; `staff` accepts
 * the staff or admin token; `admin` only the admin token.
 */
export type Access = "public" | "read" | "order" | "staff" | "admin";

/** The role a request proves with its bearer token. */
export type Role = "staff" | "admin";

/** One line of the policy. */
export interface AccessRule {
  /** Upper-case methods, or `*` for any. */
  methods: readonly string[] | "*";
  /** `*` is one path segment, `**` any rest (`/a/**` also matches `/a`), `{x,y}` alternatives. */
  path: string;
  access: Access;
}

const READS = ["GET", "HEAD", "OPTIONS"] as const;
const WRITES = ["POST", "PUT", "PATCH", "DELETE"] as const;

/** The whole policy, first match wins. */
export const ACCESS_RULES: readonly AccessRule[] = [
  // Pages, their assets, the API docs and health stay open even with PROTECT_READS.
  { methods: READS, path: "/", access: "public" },
  { methods: READS, path: "/kitchen/display", access: "public" },
  { methods: READS, path: "/health", access: "public" },
  { methods: READS, path: "/docs", access: "public" },
  { methods: READS, path: "/openapi.json", access: "public" },
  { methods: READS, path: "/static/**", access: "public" },
  {
    methods: READS,
    path: "/**.{html,js,css,svg,png,ico,webp,woff2,mp3,wav}",
    access: "public",
  },
  // Every other read: menu, orders, kitchen feed, inventory, /api lists, /ws.
  { methods: READS, path: "/**", access: "read" },
  // Placing orders.
  { methods: ["POST"], path: "/orders", access: "order" },
  { methods: ["POST"], path: "/api/order", access: "order" },
  { methods: ["POST"], path: "/api/orchestrator/*", access: "order" },
  // Moving tickets along.
  { methods: ["PATCH"], path: "/orders/*", access: "staff" },
  // Administration, listed for the record; the default below says the same.
  { methods: WRITES, path: "/menu/**", access: "admin" },
  { methods: WRITES, path: "/inventory/**", access: "admin" },
  { methods: WRITES, path: "/api/vending-machines/**", access: "admin" },
  { methods: WRITES, path: "/api/products/**", access: "admin" },
  // Deny by default: any write not listed above.
  { methods: "*", path: "/**", access: "admin" },
];

function compile(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (pattern.startsWith("/**", i) && i + 3 === pattern.length) {
      re += "(?:/.*)?";
      break;
    }
    if (pattern.startsWith("**", i)) {
      re += ".*";
      i++;
    } else if (ch === "*") re += "[^/]*";
    else if (ch === "{") {
      const end = pattern.indexOf("}", i);
      const alts = pattern.slice(i + 1, end).split(",");
      re += `(?:${alts.map(escape).join("|")})`;
      i = end;
    } else re += escape(ch);
  }
  return new RegExp(`^${re}$`);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const COMPILED = ACCESS_RULES.map((r) => ({ ...r, re: compile(r.path) }));

/** The first rule matching a request. */
export function ruleFor(method: string, path: string): AccessRule {
  const m = method.toUpperCase();
  return COMPILED.find((r) =>
    (r.methods === "*" || r.methods.includes(m)) && r.re.test(path)
  )!;
}

type AuthSettings = Pick<Config, "protectReads" | "protectOrdering">;

/** The role a request needs under `settings`; null when it needs none. */
export function requiredRole(
  method: string,
  path: string,
  settings: AuthSettings,
): Role | null {
  switch (ruleFor(method, path).access) {
    case "public":
      return null;
    case "read":
      return settings.protectReads ? "staff" : null;
    case "order":
      return settings.protectOrdering ? "staff" : null;
    case "staff":
      return "staff";
    case "admin":
      return "admin";
  }
}

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)),
  );
}

/** Compares two SHA-256 digests in time independent of where they differ. */
export function digestsEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** The token of an `Authorization: Bearer …` header; null when absent or another scheme. */
export function bearerToken(header: string | undefined): string | null {
  const m = /^\s*Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return m ? m[1]! : null;
}

/**
 * EventSource and WebSocket cannot send an Authorization header, so on these
 * read-only stream paths the token may also come from the `forkflow_token`
 * cookie that `kitchen/auth.js` sets (path-scoped, SameSite=Strict). Never
 * for writes, so a cookie can not be used for cross-site request forgery.
 */
export const COOKIE_TOKEN_PATHS: ReadonlySet<string> = new Set([
  "/kitchen/events",
  "/ws/orders",
]);

/** Name of the stream-token cookie. */
export const TOKEN_COOKIE = "forkflow_token";

/** The token of a request: the bearer header, or the stream cookie on a stream GET. */
export function requestToken(c: Context): string | null {
  const bearer = bearerToken(c.req.header("authorization"));
  if (bearer !== null) return bearer;
  if (c.req.method !== "GET" || !COOKIE_TOKEN_PATHS.has(c.req.path)) {
    return null;
  }
  for (const part of (c.req.header("cookie") ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0 || part.slice(0, eq).trim() !== TOKEN_COOKIE) continue;
    try {
      return decodeURIComponent(part.slice(eq + 1).trim()) || null;
    } catch {
      return null;
    }
  }
  return null;
}

function denied(c: Context, status: 401 | 403, code: string, message: string) {
  const headers: Record<string, string> = {};
  if (status === 401) {
    headers["WWW-Authenticate"] = code === "invalid_token"
      ? 'Bearer realm="forkflow", error="invalid_token"'
      : 'Bearer realm="forkflow"';
  }
  return c.json(
    {
      error: {
        code: status === 401 ? "unauthorized" : "forbidden",
        message,
        details: {},
      },
    },
    status,
    headers,
  );
}

/**
 * Enforces `ACCESS_RULES` when `config.adminToken` is set; a no-op otherwise.
 * Tokens are compared as SHA-256 digests with a constant-time loop, against
 * both roles every time, and never logged.
 */
export function requireRoles(
  config: Pick<Config, "adminToken" | "staffToken"> & AuthSettings,
): MiddlewareHandler {
  if (config.adminToken === undefined) return (_c, next) => next();
  const admin = digest(config.adminToken);
  const staff = config.staffToken === undefined
    ? null
    : digest(config.staffToken);
  return async (c, next) => {
    const need = requiredRole(c.req.method, c.req.path, config);
    if (need === null) return next();
    const token = requestToken(c);
    if (token === null) {
      return denied(
        c,
        401,
        "missing_token",
        `${c.req.method} ${c.req.path} needs an Authorization: Bearer token (${need})`,
      );
    }
    const got = await digest(token);
    const isAdmin = digestsEqual(got, await admin);
    const isStaff = staff !== null && digestsEqual(got, await staff);
    if (!isAdmin && !isStaff) {
      return denied(c, 401, "invalid_token", "The bearer token is not valid");
    }
    if (need === "admin" && !isAdmin) {
      return denied(
        c,
        403,
        "forbidden",
        `${c.req.method} ${c.req.path} needs the admin token`,
      );
    }
    return next();
  };
}
