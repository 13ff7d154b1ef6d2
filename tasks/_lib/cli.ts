/** Command-line plumbing shared by the tasks: common flags, number parsing, usage. */
import { parseArgs } from "node:util";

/** A `node:util` parseArgs option table. */
export type OptionTable = Record<
  string,
  { type: "string" | "boolean"; short?: string; default?: string | boolean }
>;

/** Flags every task understands. */
export const COMMON_OPTIONS: OptionTable = {
  url: { type: "string" },
  "database-url": { type: "string" },
  out: { type: "string" },
  token: { type: "string" },
  help: { type: "boolean", short: "h" },
};

/** Help text of the common flags. */
export const COMMON_HELP = `
  --url URL            target an already running server (default: start one as a child process)
  --database-url URL   database of the self-started server: file:/libsql: (default: a temp file),
                       postgres://..., or "pg" for a fresh database on the throwaway cluster (tasks/pg.ts)
  --out DIR            where reports go (default: reports/)
  --token TOKEN        bearer token for administration calls (when the server sets ADMIN_TOKEN)
  -h, --help           this text`;

/** Parsed flag values: strings and booleans by name. */
export type Flags = Record<string, string | boolean | undefined>;

/** Parses `args` with the task's options plus the common ones; prints usage and exits on --help or a bad flag. */
export function parseFlags(
  args: string[],
  options: OptionTable,
  usage: string,
): Flags {
  let values: Flags;
  try {
    values = parseArgs({
      args,
      options: { ...COMMON_OPTIONS, ...options },
      strict: true,
      allowPositionals: false,
    }).values as Flags;
  } catch (e) {
    console.error(`${(e as Error).message}\n${usage}${COMMON_HELP}`);
    Deno.exit(2);
  }
  if (values.help) {
    console.log(`${usage}${COMMON_HELP}`);
    Deno.exit(0);
  }
  return values;
}

/** Reads a numeric flag within bounds, or stops with one line naming it. */
export function numberFlag(
  flags: Flags,
  name: string,
  dflt: number,
  bounds: { min?: number; max?: number; int?: boolean } = {},
): number {
  const raw = flags[name];
  if (raw === undefined || raw === true || raw === false) return dflt;
  const n = Number(String(raw).replace(/_/g, ""));
  const { min = -Infinity, max = Infinity, int = true } = bounds;
  if (
    !Number.isFinite(n) || n < min || n > max || (int && !Number.isInteger(n))
  ) {
    fail(
      `--${name} must be ${
        int ? "an integer" : "a number"
      } from ${min} to ${max} (got "${raw}")`,
    );
  }
  return n;
}

/** Reads a comma-separated list of positive integers. */
export function listFlag(
  flags: Flags,
  name: string,
  dflt: number[],
  max: number,
): number[] {
  const raw = flags[name];
  if (typeof raw !== "string") return dflt;
  const list = raw.split(",").map((s) => Number(s.trim().replace(/_/g, "")));
  if (
    list.length === 0 ||
    list.some((n) => !Number.isInteger(n) || n < 1 || n > max)
  ) {
    fail(
      `--${name} must be a comma-separated list of integers from 1 to ${max} (got "${raw}")`,
    );
  }
  return list;
}

/** Reads a string flag. */
export function stringFlag(flags: Flags, name: string): string | undefined {
  const raw = flags[name];
  return typeof raw === "string" && raw !== "" ? raw : undefined;
}

/** Stops the task with one line on stderr. */
export function fail(message: string): never {
  console.error(message);
  Deno.exit(2);
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A short random id for this run (tags keys and notes so reruns never collide). */
export function runId(): string {
  return crypto.randomUUID().slice(0, 8);
}

/** Reads a duration flag: `10` or `10s` (seconds), `500ms`; resolves to ms. */
export function durationFlag(
  flags: Flags,
  name: string,
  dfltMs: number,
  maxMs = 3_600_000,
): number {
  const raw = flags[name];
  if (typeof raw !== "string") return dfltMs;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(raw.trim());
  const value = m
    ? Number(m[1]) *
      ({ ms: 1, s: 1000, m: 60_000 }[m[2] as "ms" | "s" | "m"] ?? 1000)
    : NaN;
  if (!(value > 0 && value <= maxMs)) {
    fail(
      `--${name} must be a duration such as 10, 10s or 500ms, up to ${
        maxMs / 1000
      } s (got "${raw}")`,
    );
  }
  return value;
}
