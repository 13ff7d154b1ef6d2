/**
 * One keep-alive HTTP/1.1 connection written straight onto a TCP socket.
 *
 * The load tasks measure the server, so the client has to cost little: Deno's
 * `fetch` tops out near 4,500 requests/s on one of these cores, which made the
 * load generator the bottleneck. This connection sends one request at a time,
 * reads the answer by `Content-Length` (or chunked), and answers with the
 * same `Outcome` as `send()`. An injected fault or a timeout closes the socket
 * mid-flight; the next request opens a new one.
 *
 * @module
 */
import type { HeaderLookup, Outcome, SendOptions } from "./http.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const HEAD_END = [13, 10, 13, 10];

/** Index of `\r\n\r\n` in `buf[from..to)`, or -1. */
function headEnd(buf: Uint8Array, from: number, to: number): number {
  for (let i = Math.max(0, from); i + 3 < to; i++) {
    if (
      buf[i] === HEAD_END[0] && buf[i + 1] === HEAD_END[1] &&
      buf[i + 2] === HEAD_END[2] && buf[i + 3] === HEAD_END[3]
    ) return i;
  }
  return -1;
}

/** Decodes a chunked body; null while it is still incomplete. */
function dechunk(buf: Uint8Array): Uint8Array | null {
  const parts: Uint8Array[] = [];
  let at = 0;
  while (true) {
    const eol = buf.indexOf(10, at);
    if (eol < 0) return null;
    const size = parseInt(decoder.decode(buf.subarray(at, eol)), 16);
    if (!Number.isFinite(size)) throw new Error("bad chunk size");
    const start = eol + 1;
    if (size === 0) {
      return headEnd(buf, start - 2, buf.length) < 0 ? null : concat(parts);
    }
    if (buf.length < start + size + 2) return null;
    parts.push(buf.subarray(start, start + size));
    at = start + size + 2;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Looks fields up in the raw head, lazily: callers ask for a few fields, and
 * splitting every line into a map cost more than the rest of the parse.
 */
function headerLookup(head: string): HeaderLookup {
  let lower: string | null = null;
  return {
    get(name: string): string | null {
      lower ??= head.toLowerCase();
      const at = lower.indexOf(`\r\n${name.toLowerCase()}:`);
      if (at < 0) return null;
      const from = at + name.length + 3;
      const eol = head.indexOf("\r\n", from);
      return head.slice(from, eol < 0 ? head.length : eol).trim();
    },
  };
}

class Interrupted extends Error {
  constructor(readonly kind: "timeout" | "aborted", message: string) {
    super(message);
  }
}

/** How often `HttpConnection` checks its timeouts (they fire up to this late). */
const WATCH_MS = 100;

/** A persistent connection to one origin (`http://host:port`). */
export class HttpConnection {
  /**
   * Connections with a request waiting for its timeout, checked by one
   * interval: a setTimeout and clearTimeout per request cost the load client
   * about a tenth of its CPU.
   */
  static #waiting = new Set<HttpConnection>();
  static #watch: ReturnType<typeof setInterval> | undefined;

  static #sweep() {
    const now = performance.now();
    for (const c of HttpConnection.#waiting) {
      if (now >= c.#deadline) {
        c.#cut(
          new Interrupted("timeout", `no answer after ${c.#timeoutMs} ms`),
        );
      }
    }
  }

  readonly #origin: string;
  readonly #host: string;
  readonly #port: number;
  #conn: Deno.TcpConn | null = null;
  #buf = new Uint8Array(16 * 1024);
  #len = 0;
  #interrupt: Interrupted | null = null;
  #deadline = Infinity;
  #timeoutMs = 0;

  /** @param origin `http://host:port` of the server */
  constructor(origin: string) {
    const u = new URL(origin);
    if (u.protocol !== "http:") {
      throw new Error(`the load client speaks plain http, not ${u.protocol}`);
    }
    this.#origin = u.origin;
    this.#host = u.hostname.replace(/^\[|\]$/g, "");
    this.#port = Number(u.port || 80);
  }

  #arm(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
    this.#deadline = performance.now() + timeoutMs;
    HttpConnection.#waiting.add(this);
    if (HttpConnection.#watch === undefined) {
      HttpConnection.#watch = setInterval(HttpConnection.#sweep, WATCH_MS);
    }
  }

  #disarm() {
    const waiting = HttpConnection.#waiting;
    if (!waiting.delete(this) || waiting.size > 0) return;
    clearInterval(HttpConnection.#watch);
    HttpConnection.#watch = undefined;
  }

  /** Sends one request (a path, or a URL on this origin) and reads the whole answer; never throws. */
  async send(target: string, opts: SendOptions = {}): Promise<Outcome> {
    const t0 = performance.now();
    const path = target.startsWith(this.#origin)
      ? target.slice(this.#origin.length) || "/"
      : target;
    this.#interrupt = null;
    if (opts.timeoutMs !== undefined) this.#arm(opts.timeoutMs);
    // The error is only built when its timer fires: capturing a stack trace
    // per request was a tenth of the load client's CPU.
    const fault = opts.abortAfterMs === undefined ? undefined : setTimeout(
      () => this.#cut(new Interrupted("aborted", "injected abort")),
      opts.abortAfterMs,
    );
    try {
      const conn = this.#conn ?? await this.#open();
      await this.#write(conn, this.#request(path, opts));
      const res = await this.#read(conn);
      return { kind: "response", ...res, ms: performance.now() - t0 };
    } catch (e) {
      this.close();
      const ms = performance.now() - t0;
      const cut = this.#interrupt as Interrupted | null;
      if (cut) return { kind: cut.kind, ms, error: cut.message };
      const message = e instanceof Error ? e.message : String(e);
      return {
        kind: "connection",
        ms,
        error: message.split("\n")[0]!.slice(0, 160),
      };
    } finally {
      this.#disarm();
      clearTimeout(fault);
    }
  }

  /** Closes the socket (a later `send` reconnects). */
  close(): void {
    const c = this.#conn;
    this.#conn = null;
    this.#len = 0;
    try {
      c?.close();
    } catch { /* already closed */ }
  }

  #cut(why: Interrupted) {
    this.#interrupt ??= why;
    this.close();
  }

  async #open(): Promise<Deno.TcpConn> {
    const conn = await Deno.connect({ hostname: this.#host, port: this.#port });
    if (this.#interrupt) {
      conn.close();
      throw this.#interrupt;
    }
    conn.setNoDelay(true);
    this.#conn = conn;
    return conn;
  }

  #request(path: string, opts: SendOptions): Uint8Array {
    const body = opts.body === undefined
      ? undefined
      : encoder.encode(JSON.stringify(opts.body));
    let head = `${
      opts.method ?? "GET"
    } ${path} HTTP/1.1\r\nhost: ${this.#host}:${this.#port}\r\n`;
    for (const [k, v] of Object.entries(opts.headers ?? {})) {
      head += `${k}: ${v}\r\n`;
    }
    if (body) {
      head +=
        `content-type: application/json\r\ncontent-length: ${body.length}\r\n`;
    }
    const h = encoder.encode(head + "\r\n");
    return body ? concat([h, body]) : h;
  }

  async #write(conn: Deno.TcpConn, bytes: Uint8Array) {
    for (let at = 0; at < bytes.length;) {
      at += await conn.write(bytes.subarray(at));
    }
  }

  /** Reads more bytes into the buffer; throws on end of stream. */
  async #fill(conn: Deno.TcpConn) {
    if (this.#len === this.#buf.length) {
      const bigger = new Uint8Array(this.#buf.length * 2);
      bigger.set(this.#buf);
      this.#buf = bigger;
    }
    const n = await conn.read(this.#buf.subarray(this.#len));
    if (n === null) {
      throw new Error("connection closed before the whole answer arrived");
    }
    this.#len += n;
  }

  async #read(conn: Deno.TcpConn) {
    let end = headEnd(this.#buf, 0, this.#len);
    while (end < 0) {
      const scanned = this.#len;
      await this.#fill(conn);
      end = headEnd(this.#buf, scanned - 3, this.#len);
    }
    const head = decoder.decode(this.#buf.subarray(0, end));
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
    if (!status) {
      throw new Error(`not an HTTP answer: ${head.split("\r\n")[0]}`);
    }
    const headers = headerLookup(head);
    const start = end + 4;
    const bytes = await this.#body(conn, headers, start);
    const text = decoder.decode(bytes);
    if (/close/i.test(headers.get("connection") ?? "")) this.close();
    let body: unknown = text;
    if ((headers.get("content-type") ?? "").includes("json") && text) {
      try {
        body = JSON.parse(text);
      } catch { /* keep the text */ }
    }
    return { status, headers, body };
  }

  async #body(conn: Deno.TcpConn, headers: HeaderLookup, start: number) {
    const take = (n: number) => {
      const out = this.#buf.slice(start, start + n);
      this.#buf.copyWithin(0, start + n, this.#len);
      this.#len -= start + n;
      return out;
    };
    const length = headers.get("content-length");
    if (length !== null) {
      const n = Number(length);
      while (this.#len < start + n) await this.#fill(conn);
      return take(n);
    }
    if (/chunked/i.test(headers.get("transfer-encoding") ?? "")) {
      while (true) {
        const body = dechunk(this.#buf.subarray(start, this.#len));
        if (body) {
          this.#len = 0;
          return body;
        }
        await this.#fill(conn);
      }
    }
    // Neither: the body runs to the end of the stream.
    try {
      while (true) await this.#fill(conn);
    } catch {
      const out = this.#buf.slice(start, this.#len);
      this.close();
      return out;
    }
  }
}
