/** Response hardening: security headers, opt-in CORS, and a per-client write rate limit. */
import type { Context, MiddlewareHandler } from "hono";

/**
 * The pages load only their own external JS and CSS and talk only to this
 * origin (fetch, EventSource, WebSocket), so `'self'` everywhere suffices.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Headers set on every response (a route may set its own first). */
export const SECURITY_HEADERS: Record<string, string> = {
  "Content-Security-Policy": CONTENT_SECURITY_POLICY,
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Opener-Policy": "same-origin",
};

/** Adds `SECURITY_HEADERS` to every response except WebSocket upgrades. */
export function securityHeaders(): MiddlewareHandler {
  const entries = Object.entries(SECURITY_HEADERS);
  return async (c, next) => {
    await next();
    if (c.res.status === 101) return;
    try {
      const headers = c.res.headers;
      for (const [k, v] of entries) if (!headers.has(k)) headers.set(k, v);
    } catch {
      // Immutable headers (a proxied Response) keep what they have.
    }
  };
}

const CORS_ALLOW_HEADERS =
  "Authorization, Content-Type, Idempotency-Key, If-Match, Last-Event-ID, X-Request-Id";
const CORS_EXPOSE_HEADERS =
  "ETag, Idempotent-Replayed, Link, Location, Retry-After, X-Request-Id";

/**
 * CORS for the listed origins only: their preflights get 204 with the allowed
 * methods and headers, their requests get `Access-Control-Allow-Origin` set to
 * the (reflected) origin. Other origins get no CORS headers at all.
 * With an empty list this middleware does nothing.
 */
export function cors(origins: readonly string[]): MiddlewareHandler {
  const allowed = new Set(origins);
  return async (c, next) => {
    if (allowed.size === 0) return next();
    const origin = c.req.header("origin");
    const ok = origin !== undefined && allowed.has(origin);
    if (
      ok && c.req.method === "OPTIONS" &&
      c.req.header("access-control-request-method")
    ) {
      return c.body(null, 204, {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "GET, HEAD, POST, PUT, PATCH, DELETE",
        "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
        "Access-Control-Max-Age": "600",
        "Vary": "Origin, Access-Control-Request-Headers",
      });
    }
    await next();
    if (c.res.status === 101) return;
    try {
      c.res.headers.append("Vary", "Origin");
      if (ok) {
        c.res.headers.set("Access-Control-Allow-Origin", origin);
        c.res.headers.set("Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
      }
    } catch {
      // Immutable headers: leave the response as it is.
    }
  };
}

/** Requests that change nothing; the rate limit and the write roles skip them. */
export const SAFE_METHODS: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "OPTIONS",
]);

/**
 * The client's address from Deno's connection info; `"local"` when there is
 * none (e.g. `app.request()` in tests), so such callers share one bucket.
 * Forwarding headers are ignored: they are trivially forged.
 */
export function clientKey(c: Context): string {
  const env = c.env as { remoteAddr?: { hostname?: string } } | undefined;
  return env?.remoteAddr?.hostname ?? "local";
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per client: `perMin` writes per minute, bursts up to
 * `perMin`. Answers 429 with `Retry-After` (whole seconds) when empty.
 */
export class WriteLimiter {
  #buckets = new Map<string, Bucket>();
  #ratePerMs: number;

  /**
   * @param perMin capacity and refill per minute
   * @param maxClients most buckets kept; full ones are dropped first
   */
  constructor(readonly perMin: number, readonly maxClients = 10_000) {
    this.#ratePerMs = perMin / 60_000;
  }

  /** Takes one token for `key`: 0 when allowed, else whole seconds to wait. */
  take(key: string, now = performance.now()): number {
    let b = this.#buckets.get(key);
    if (!b) {
      if (this.#buckets.size >= this.maxClients) this.#prune(now);
      b = { tokens: this.perMin, at: now };
      this.#buckets.set(key, b);
    }
    b.tokens = Math.min(this.perMin, b.tokens + (now - b.at) * this.#ratePerMs);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.#ratePerMs / 1000));
  }

  #prune(now: number): void {
    for (const [k, b] of this.#buckets) {
      if (b.tokens + (now - b.at) * this.#ratePerMs >= this.perMin) {
        this.#buckets.delete(k);
      }
    }
    // Everyone is mid-burst: forget the oldest half rather than grow forever.
    if (this.#buckets.size >= this.maxClients) {
      const keys = [...this.#buckets.keys()];
      for (const k of keys.slice(0, keys.length >> 1)) this.#buckets.delete(k);
    }
  }
}

/** Limits writes per client; `perMin` 0 turns it off. */
export function rateLimitWrites(perMin: number): MiddlewareHandler {
  if (perMin <= 0) return (_c, next) => next();
  const limiter = new WriteLimiter(perMin);
  return (c, next) => {
    if (SAFE_METHODS.has(c.req.method)) return next();
    const wait = limiter.take(clientKey(c));
    if (wait === 0) return next();
    return Promise.resolve(c.json(
      {
        error: {
          code: "rate_limited",
          message: `Too many writes; retry in ${wait} s`,
          details: { limit_per_min: perMin, retry_after_s: wait },
        },
      },
      429,
      { "Retry-After": String(wait) },
    ));
  };
}
