/** The only reader of `Deno.env`: validates every setting once, at start. */
import { z } from "zod";
import { backendFor, splitSocketDir } from "./domain/database_url.ts";

const int = (min: number, max: number, dflt: number) =>
  z.string().trim().regex(
    /^-?\d+$/,
    `expected an integer from ${min} to ${max}`,
  )
    .transform(Number).pipe(z.number().int().min(min).max(max)).prefault(
      String(dflt),
    );
const optionalText = z.string().trim().min(1).optional().catch(undefined);
const flag = (dflt: "0" | "1") =>
  z.enum(["0", "1", "true", "false"]).prefault(dflt).transform((v) =>
    v === "1" || v === "true"
  );

const EnvSchema = z.object({
  PORT: int(0, 65535, 8000),
  HOST: z.string().trim().min(1).default("127.0.0.1"),
  DATABASE_URL: z.string().trim().optional().transform((v) => v || undefined)
    .superRefine((v, ctx) => {
      try {
        if (backendFor(v) === "postgres") splitSocketDir(v!);
      } catch (e) {
        const message = /scheme/.test((e as Error).message)
          ? "expected a file:, libsql:, http(s): or postgres:// URL"
          : (e as Error).message;
        ctx.addIssue({ code: "custom", message });
      }
    }),
  DATABASE_AUTH_TOKEN: optionalText,
  VENDING_PROCESSING_MS: int(0, 3_600_000, 5000),
  VENDING_CLAIM_TTL_MS: int(1, 86_400_000, 60_000),
  IDEMPOTENCY_TTL_S: int(1, 30 * 86_400, 86_400),
  MAX_BODY_BYTES: int(256, 100 * 1024 * 1024, 64 * 1024),
  ADMIN_TOKEN: optionalText,
  STAFF_TOKEN: optionalText,
  ALLOW_OPEN: flag("0"),
  DEMO_DATA: flag("1"),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  PROTECT_READS: flag("0"),
  PROTECT_ORDERING: flag("0"),
  CORS_ORIGINS: z.string().trim().default("").transform((v, ctx) => {
    const list = v.split(",").map((o) => o.trim()).filter(Boolean);
    for (const o of list) {
      if (!isOrigin(o)) {
        ctx.addIssue({
          code: "custom",
          message:
            `expected comma-separated origins like https://pos.example:8443, not "${o}"`,
        });
        return z.NEVER;
      }
    }
    return list;
  }),
  RATE_LIMIT_WRITES_PER_MIN: int(0, 1_000_000, 0),
  HEADER_TIMEOUT_MS: int(100, 600_000, 10_000),
  MAX_CONNECTIONS: z.string().trim().regex(
    /^\d+$/,
    "expected a whole number of connections, at least 1",
  ).transform(Number).pipe(z.number().int().min(1)).optional(),
});

function isOrigin(o: string): boolean {
  try {
    const u = new URL(o);
    return /^https?:$/.test(u.protocol) && u.origin === o;
  } catch {
    return false;
  }
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$/i;

/** Whether `host` only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

/** Validated settings. */
export interface Config {
  port: number;
  host: string;
  /** Undefined means the embedded default file. */
  databaseUrl: string | undefined;
  databaseAuthToken: string | undefined;
  vendingProcessingMs: number;
  vendingClaimTtlMs: number;
  idempotencyTtlS: number;
  maxBodyBytes: number;
  adminToken: string | undefined;
  staffToken: string | undefined;
  allowOpen: boolean;
  /** Seed the demo menu into an empty database at start. */
  demoData: boolean;
  logLevel: "debug" | "info" | "warn" | "error";
  /** With tokens set, API reads (not pages, assets, /health) need staff. */
  protectReads: boolean;
  /** With tokens set, placing orders needs staff. */
  protectOrdering: boolean;
  /** Origins allowed to call the API from a browser; empty means CORS off. */
  corsOrigins: string[];
  /** Writes per minute per client address; 0 means no limit. */
  rateLimitWritesPerMin: number;
  /** A connection that sends no complete request head for this long is closed. */
  headerTimeoutMs: number;
  /** Open connections (streams included) beyond which new ones are closed at once. */
  maxConnections: number;
  /** Length of the listen queue, derived from the open-file limit. */
  listenBacklog: number;
}

/** The process's open-file limit when it cannot be read (a common default). */
export const FALLBACK_OPEN_FILES = 1024;

/** Descriptors kept for everything but clients: runtime, database files and pool, logs, backups. */
const RESERVED_FDS = 128;

/**
 * Connections the kernel queues for accept(). Deno's node:net accepts the
 * whole queue before any can be refused, so each queued one may hold a
 * descriptor for a moment; a short queue bounds that.
 */
export function listenBacklog(openFiles: number): number {
  return Math.min(511, Math.max(16, Math.floor(openFiles / 8)));
}

/** Descriptors that client connections must leave free (twice the queue: refusals close a tick late). */
export function fdHeadroom(openFiles: number): number {
  return RESERVED_FDS + 2 * (listenBacklog(openFiles) + 1);
}

/** The default connection limit: the open-file limit less the headroom. */
export function defaultMaxConnections(openFiles: number): number {
  return Math.max(1, openFiles - fdHeadroom(openFiles));
}

/** A configuration value that stops start-up; the message is one line naming it. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** The embedded database used when `DATABASE_URL` is unset. */
export const DEFAULT_DATABASE_URL = "file:data/forkflow.db";

/** Facts about the process that bound some settings; tests pass literals. */
export interface ProcessLimits {
  /** Soft limit on open file descriptors (`ulimit -n`). */
  openFiles: number;
}

/** Validates an environment map; throws `ConfigError` naming the first bad variable. */
export function loadConfig(
  env: Record<string, string | undefined>,
  limits: ProcessLimits = { openFiles: FALLBACK_OPEN_FILES },
): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? "environment");
    const got = env[name] === undefined ? "" : ` (got "${env[name]}")`;
    throw new ConfigError(`Invalid ${name}: ${issue.message}${got}`);
  }
  const e = parsed.data;
  checkTokens(e);
  const maxConnections = e.MAX_CONNECTIONS ??
    defaultMaxConnections(limits.openFiles);
  checkConnections(maxConnections, limits.openFiles);
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    databaseAuthToken: e.DATABASE_AUTH_TOKEN,
    vendingProcessingMs: e.VENDING_PROCESSING_MS,
    vendingClaimTtlMs: e.VENDING_CLAIM_TTL_MS,
    idempotencyTtlS: e.IDEMPOTENCY_TTL_S,
    maxBodyBytes: e.MAX_BODY_BYTES,
    adminToken: e.ADMIN_TOKEN,
    staffToken: e.STAFF_TOKEN,
    allowOpen: e.ALLOW_OPEN,
    demoData: e.DEMO_DATA,
    logLevel: e.LOG_LEVEL,
    protectReads: e.PROTECT_READS,
    protectOrdering: e.PROTECT_ORDERING,
    corsOrigins: e.CORS_ORIGINS,
    rateLimitWritesPerMin: e.RATE_LIMIT_WRITES_PER_MIN,
    headerTimeoutMs: e.HEADER_TIMEOUT_MS,
    maxConnections,
    listenBacklog: listenBacklog(limits.openFiles),
  };
}

/** A limit the process cannot hold open would let a flood exhaust its descriptors. */
function checkConnections(max: number, openFiles: number): void {
  const room = defaultMaxConnections(openFiles);
  if (max > room) {
    throw new ConfigError(
      `Invalid MAX_CONNECTIONS: ${max} does not fit the open-file limit of ${openFiles} (at most ${room} leaves room for the database and logs); raise ulimit -n or lower MAX_CONNECTIONS`,
    );
  }
}

/** Token rules that span variables; each failure is one line naming the variable. */
function checkTokens(e: z.output<typeof EnvSchema>): void {
  for (const name of ["ADMIN_TOKEN", "STAFF_TOKEN"] as const) {
    if (e[name] !== undefined && /\s/.test(e[name])) {
      throw new ConfigError(`Invalid ${name}: must not contain whitespace`);
    }
  }
  if (e.STAFF_TOKEN !== undefined && e.ADMIN_TOKEN === undefined) {
    throw new ConfigError(
      "Invalid STAFF_TOKEN: set ADMIN_TOKEN as well, or no one could administer the menu, inventory and machines",
    );
  }
  if (e.STAFF_TOKEN !== undefined && e.STAFF_TOKEN === e.ADMIN_TOKEN) {
    throw new ConfigError("Invalid STAFF_TOKEN: must differ from ADMIN_TOKEN");
  }
  if (
    !isLoopback(e.HOST) && e.ADMIN_TOKEN === undefined && !e.ALLOW_OPEN
  ) {
    throw new ConfigError(
      `Invalid HOST: refusing to listen on non-loopback "${e.HOST}" with no ADMIN_TOKEN/STAFF_TOKEN set; set tokens, or ALLOW_OPEN=1 to run open on purpose`,
    );
  }
}

/** Reads the process environment and its open-file limit. */
export function configFromEnv(): Config {
  return loadConfig(Deno.env.toObject(), { openFiles: openFilesLimit() });
}

/** The soft open-file limit from `/proc/self/limits` (Linux); the fallback elsewhere. */
export function openFilesLimit(
  limitsText: () => string = () => Deno.readTextFileSync("/proc/self/limits"),
): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(limitsText());
    if (!m) return FALLBACK_OPEN_FILES;
    // "unlimited" cannot be held either; a large finite number keeps the sum honest.
    return m[1] === "unlimited" ? 1_048_576 : Number(m[1]);
  } catch {
    return FALLBACK_OPEN_FILES;
  }
}
