/**
 * Structured logs: one JSON line per request and per error. Cheap on the hot
 * path: one `JSON.stringify` per line into a buffer that is written out on a
 * timer, when it grows, and at exit. Never logs headers, query strings or bodies.
 */
import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { DomainError } from "../domain/errors.ts";

/** Severity, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Where finished log lines go (one line per call, no trailing newline). */
export interface LogSink {
  write(line: string): void;
}

/** Leveled JSON-lines logger over a sink. */
export class Logger {
  #min: number;

  /**
   * @param level lowest level written
   * @param sink where lines go
   */
  constructor(level: LogLevel, readonly sink: LogSink) {
    this.#min = RANK[level];
  }

  /** Whether lines of `level` are written at all. */
  enabled(level: LogLevel): boolean {
    return RANK[level] >= this.#min;
  }

  /** Writes `{ts, level, msg, ...fields}` when `level` is enabled. */
  log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}) {
    if (RANK[level] < this.#min) return;
    this.sink.write(
      JSON.stringify({ ts: new Date().toISOString(), level, msg, ...fields }),
    );
  }
}

/** Options of the buffered writer. */
export interface BufferedSinkOptions {
  /** Longest time a line waits in the buffer. */
  flushMs?: number;
  /** Buffered lines that force an immediate write. */
  maxLines?: number;
}

/**
 * A sink that batches lines and writes them with one synchronous write on a
 * timer (which does not keep the process alive), when full, or on `flush()`.
 */
export class BufferedSink implements LogSink {
  #lines: string[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #encoder = new TextEncoder();
  #flushMs: number;
  #maxLines: number;

  /**
   * @param out e.g. `Deno.stdout`
   * @param opts flush interval and size
   */
  constructor(
    readonly out: { writeSync(p: Uint8Array): number },
    opts: BufferedSinkOptions = {},
  ) {
    this.#flushMs = opts.flushMs ?? 250;
    this.#maxLines = opts.maxLines ?? 512;
  }

  write(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length >= this.#maxLines) this.flush();
    else if (this.#timer === undefined) {
      const timer = setTimeout(() => this.flush(), this.#flushMs);
      Deno.unrefTimer(timer);
      this.#timer = timer;
    }
  }

  /** Writes every buffered line now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#lines.length === 0) return;
    let bytes = this.#encoder.encode(this.#lines.join("\n") + "\n");
    this.#lines = [];
    while (bytes.length > 0) bytes = bytes.subarray(this.out.writeSync(bytes));
  }
}

/** Default sink of `createApp` when none is given: warnings and errors to stderr. */
export const stderrSink: LogSink = {
  write: (line) => console.error(line),
};

/** The route pattern that answered, e.g. `/orders/:id`; null when none matched. */
export function routeOf(c: Context): string | null {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    if (routes[i]!.method !== "ALL") return routes[i]!.path;
  }
  return null;
}

/** Logs one line per request at info (5xx at error), plus the stack of an unhandled error. */
export function requestLog(logger: Logger): MiddlewareHandler {
  return async (c, next) => {
    const start = performance.now();
    await next();
    const status = c.res.status;
    const level: LogLevel = status >= 500 ? "error" : "info";
    const err = c.error;
    if (err && !(err instanceof DomainError)) {
      logger.log("error", "unhandled error", {
        request_id: c.get("requestId"),
        method: c.req.method,
        route: routeOf(c),
        error: String(err.stack ?? err),
      });
    }
    if (!logger.enabled(level)) return;
    const fields: Record<string, unknown> = {
      method: c.req.method,
      route: routeOf(c),
      status,
      ms: Math.round((performance.now() - start) * 100) / 100,
      request_id: c.get("requestId"),
    };
    if (err instanceof DomainError) fields.code = err.code;
    logger.log(level, "request", fields);
  };
}
