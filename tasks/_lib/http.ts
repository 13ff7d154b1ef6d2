/** One HTTP exchange, timed and classified: a response, a timeout, a connection error or an injected abort. */

/** Response headers by (any-case) name. */
export type HeaderLookup = Pick<Headers, "get">;

/** How one attempt ended. */
export type Outcome =
  | {
    kind: "response";
    status: number;
    body: unknown;
    headers: HeaderLookup;
    ms: number;
  }
  | { kind: "timeout" | "connection" | "aborted"; ms: number; error: string };

/** Options of one attempt. */
export interface SendOptions {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Gives up after this many ms (a "timeout"). */
  timeoutMs?: number;
  /** Aborts the request after this many ms (an injected fault, "aborted"). */
  abortAfterMs?: number;
  /** A shared client (connection pool) for many concurrent requests. */
  client?: Deno.HttpClient;
}

class InjectedFault extends Error {
  override name = "InjectedFault";
}

/** Sends one request and reads the whole answer; never throws. */
export async function send(
  url: string,
  opts: SendOptions = {},
): Promise<Outcome> {
  const t0 = performance.now();
  const signals: AbortSignal[] = [];
  if (opts.timeoutMs) signals.push(AbortSignal.timeout(opts.timeoutMs));
  let fault: ReturnType<typeof setTimeout> | undefined;
  if (opts.abortAfterMs !== undefined) {
    const ac = new AbortController();
    fault = setTimeout(
      () => ac.abort(new InjectedFault("fault")),
      opts.abortAfterMs,
    );
    signals.push(ac.signal);
  }
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  try {
    const res = await fetch(url, {
      method: opts.method ?? "GET",
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: signals.length > 1 ? AbortSignal.any(signals) : signals[0],
      client: opts.client,
    });
    const text = await res.text();
    let body: unknown = text;
    if ((res.headers.get("content-type") ?? "").includes("json") && text) {
      try {
        body = JSON.parse(text);
      } catch { /* keep the text */ }
    }
    return {
      kind: "response",
      status: res.status,
      body,
      headers: res.headers,
      ms: performance.now() - t0,
    };
  } catch (e) {
    const ms = performance.now() - t0;
    const err = e as Error;
    if (err instanceof InjectedFault) {
      return { kind: "aborted", ms, error: "injected abort" };
    }
    if (err.name === "TimeoutError") {
      return {
        kind: "timeout",
        ms,
        error: `no answer after ${opts.timeoutMs} ms`,
      };
    }
    return {
      kind: "connection",
      ms,
      error: err.message.split("\n")[0]!.slice(0, 160),
    };
  } finally {
    clearTimeout(fault);
  }
}

/** The native error code of a response body, if it has one. */
export function errorCode(body: unknown): string | undefined {
  const e = (body as { error?: unknown } | null)?.error;
  if (typeof e === "string") return e;
  return (e as { code?: string } | undefined)?.code;
}

/** GET returning the JSON body, or throwing with the status and body. */
export async function getJson<T>(
  url: string,
  opts: SendOptions = {},
): Promise<{ body: T; headers: HeaderLookup }> {
  const r = await send(url, { timeoutMs: 30_000, ...opts });
  if (r.kind !== "response") {
    throw new Error(`${opts.method ?? "GET"} ${url}: ${r.error}`);
  }
  if (r.status >= 300) {
    throw new Error(
      `${opts.method ?? "GET"} ${url}: HTTP ${r.status} ${
        JSON.stringify(r.body).slice(0, 300)
      }`,
    );
  }
  return { body: r.body as T, headers: r.headers };
}

/** Authorization header for administration calls, when a token is set. */
export function bearer(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}
