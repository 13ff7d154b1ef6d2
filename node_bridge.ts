/**
 * Turns node:http requests into web `Request`s for the app and its
 * `Response`s back, doing as little as it can: the body is read whole (up to
 * the body limit) and handed over as bytes, and a finished answer is written
 * in one piece. Only event streams are piped, with backpressure.
 *
 * Why not @hono/node-server's listener: it wraps each body in a web stream
 * and reads each answer through one, which halved `POST /orders`/s here.
 */
import { Buffer } from "node:buffer";
import type { IncomingMessage, ServerResponse } from "node:http";

/** A fetch handler; `env` carries the node request and the peer address. */
export type FetchHandler = (
  request: Request,
  env: Record<string | symbol, unknown>,
) => Response | Promise<Response>;

/** A node:http request listener that serves `fetch`. */
export function nodeListener(
  fetch: FetchHandler,
  { maxBodyBytes }: { maxBodyBytes: number },
) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    if (!hasBody) return void answer(fetch, req, res, undefined);
    const chunks: Uint8Array[] = [];
    let size = 0;
    // A client that hangs up mid-body is no error of ours; its request just ends.
    req.on("error", () => {});
    req.on("data", (chunk: Uint8Array) => {
      // One byte past the limit is enough for the app to answer its 413.
      if (size > maxBodyBytes) return;
      chunks.push(chunk);
      size += chunk.byteLength;
    });
    req.on("end", () => {
      if (size > maxBodyBytes) res.shouldKeepAlive = false;
      // No bytes means no body, as `Deno.serve` gives it.
      const body = size === 0
        ? undefined
        : chunks.length === 1
        ? chunks[0]!
        : Buffer.concat(chunks, size);
      void answer(fetch, req, res, body);
    });
  };
}

async function answer(
  fetch: FetchHandler,
  req: IncomingMessage,
  res: ServerResponse,
  body: Uint8Array | undefined,
) {
  const gone = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) gone.abort();
  });
  let request: Request;
  try {
    request = new Request(urlOf(req), {
      method: req.method,
      headers: headersOf(req.rawHeaders),
      body: body as Uint8Array<ArrayBuffer> | undefined,
      signal: gone.signal,
    });
  } catch (e) {
    // A head node:http accepted but `Request` refuses (a header value, a URL).
    return fail(res, 400, "request the app cannot read", e);
  }
  try {
    const env = { incoming: req, outgoing: res, remoteAddr: peerOf(req) };
    await send(await fetch(request, env), res);
  } catch (e) {
    // The app maps its own errors; this is one while writing, or a bug.
    fail(res, 500, "request failed outside the app", e);
  }
}

function fail(res: ServerResponse, status: number, msg: string, e: unknown) {
  console.error(JSON.stringify({ level: "error", msg, error: String(e) }));
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { "content-length": "0", connection: "close" });
  res.end();
}

async function send(response: Response, res: ServerResponse) {
  const headers = headerRecord(response.headers);
  const type = response.headers.get("content-type") ?? "";
  if (response.body && type.startsWith("text/event-stream")) {
    res.writeHead(response.status, headers);
    res.flushHeaders();
    return pipe(response.body, res);
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  headers["content-length"] = String(bytes.byteLength);
  res.writeHead(response.status, headers);
  res.end(bytes);
}

/** Copies a stream to the socket, waiting whenever the socket's buffer is full. */
async function pipe(body: ReadableStream<Uint8Array>, res: ServerResponse) {
  const reader = body.getReader();
  const cancel = () => void reader.cancel().catch(() => {});
  res.once("close", cancel);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (!res.write(value)) {
        await new Promise((r) => {
          res.once("drain", r);
          res.once("close", r);
        });
      }
      if (res.destroyed) return;
    }
    res.end();
  } catch {
    res.destroy();
  } finally {
    res.off("close", cancel);
  }
}

function urlOf(req: IncomingMessage): string {
  const host = req.headers.host ?? "localhost";
  return `http://${host}${req.url ?? "/"}`;
}

function headersOf(raw: string[]): Headers {
  const headers = new Headers();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    headers.append(raw[i]!, raw[i + 1]!);
  }
  return headers;
}

function headerRecord(headers: Headers): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  headers.forEach((v, k) => {
    if (k !== "set-cookie") out[k] = v;
  });
  const cookies = headers.getSetCookie();
  if (cookies.length) out["set-cookie"] = cookies;
  return out;
}

/** The peer as `Deno.serve` reports it (`env.remoteAddr`), which the rate limit keys on. */
export function peerOf(req: IncomingMessage) {
  return {
    transport: "tcp",
    hostname: req.socket?.remoteAddress,
    port: req.socket?.remotePort,
  };
}
