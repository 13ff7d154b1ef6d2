/** The only reader of `Deno.env`: validates every setting once, at start. */
import { z } from "zod";

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
    .refine(
      (v) =>
        v === undefined || /^(file|libsql|https?|wss?|postgres(ql)?):/.test(v),
      {
        message: "expected a file:, libsql:, http(s): or postgres:// URL",
      },
    ),
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
});

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
}

/** A configuration value that stops start-up; the message is one line naming it. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** The embedded database used when `DATABASE_URL` is unset. */
export const DEFAULT_DATABASE_URL = "file:data/forkflow.db";

/** Validates an environment map; throws `ConfigError` naming the first bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? "environment");
    const got = env[name] === undefined ? "" : ` (got "${env[name]}")`;
    throw new ConfigError(`Invalid ${name}: ${issue.message}${got}`);
  }
  const e = parsed.data;
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
  };
}

/** Reads the process environment. */
export function configFromEnv(): Config {
  return loadConfig(Deno.env.toObject());
}
