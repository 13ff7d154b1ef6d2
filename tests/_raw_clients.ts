/**
 * Raw TCP clients for flood tests: a WebSocket that completes the upgrade and
 * then never reads another byte, and a GET that reads its answer into a small
 * buffer and throws it away, so the test process itself stays small and
 * whatever memory grows is the server's.
 */
const enc = new TextEncoder();
const dec = new TextDecoder();

/** A WebSocket client that stopped reading after the head of its first frame. */
export interface StalledSocket {
  conn: Deno.Conn;
  /** Payload length of the first frame the server sent (the `initial` message). */
  firstFrameBytes: number;
}

async function readAtLeast(conn: Deno.Conn, buf: Uint8Array, n: number) {
  let got = 0;
  while (got < n) {
    const r = await conn.read(buf.subarray(got));
    if (r === null) throw new Error(`connection closed after ${got} bytes`);
    got += r;
  }
  return got;
}

/**
 * Upgrades `path` to a WebSocket, reads the 101 head and the header of the
 * first frame, and then reads nothing more.
 */
export async function stalledSocket(
  port: number,
  path: string,
): Promise<StalledSocket> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  // RFC 6455: the base64 of 16 random bytes (servers may check its form).
  const key = btoa(
    String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))),
  );
  await conn.write(enc.encode(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
      `Sec-WebSocket-Version: 13\r\n\r\n`,
  ));
  // Small reads: the head, then at most the frame header and a few bytes.
  const buf = new Uint8Array(8192);
  let text = "";
  let got = 0;
  for (;;) {
    // A full buffer would make every read empty: fail instead of spinning.
    if (got === buf.length) throw new Error("upgrade head over 8 KiB");
    const n = await conn.read(buf.subarray(got, got + 64));
    if (n === null) throw new Error("closed during the upgrade");
    got += n;
    text = dec.decode(buf.subarray(0, got));
    if (text.includes("\r\n\r\n")) break;
  }
  if (!text.startsWith("HTTP/1.1 101")) {
    conn.close();
    throw new Error(`no upgrade: ${text.split("\r\n")[0]}`);
  }
  const headEnd = enc.encode(text.slice(0, text.indexOf("\r\n\r\n") + 4))
    .length;
  // The frame header: 2 bytes, then 2 or 8 of extended length.
  const head = new Uint8Array(10);
  let have = Math.min(got - headEnd, 10);
  head.set(buf.subarray(headEnd, headEnd + have));
  if (have < 2) have += await readAtLeast(conn, head.subarray(have), 2 - have);
  const short = head[1]! & 0x7f;
  const need = short === 126 ? 4 : short === 127 ? 10 : 2;
  if (have < need) await readAtLeast(conn, head.subarray(have), need - have);
  const view = new DataView(head.buffer);
  const firstFrameBytes = short === 126
    ? view.getUint16(2)
    : short === 127
    ? Number(view.getBigUint64(2))
    : short;
  return { conn, firstFrameBytes };
}

/** What a raw GET got back. */
export interface RawAnswer {
  status: number;
  /** The head (status line and headers). */
  head: string;
  /** Bytes of body received before the server closed the connection. */
  bodyBytes: number;
  /** The body's first and last 64 bytes. */
  start: string;
  end: string;
}

/** `GET path` with `Connection: close`, reading the answer into a 16 KiB buffer and discarding it. */
export async function rawGet(port: number, path: string): Promise<RawAnswer> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(enc.encode(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
    ));
    const buf = new Uint8Array(16 * 1024);
    let head = "";
    let bytes = 0;
    let start = "";
    let tail = new Uint8Array(0);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      let chunk = buf.subarray(0, n);
      if (!head.includes("\r\n\r\n")) {
        head += dec.decode(chunk);
        const at = head.indexOf("\r\n\r\n");
        if (at < 0) continue;
        const rest = enc.encode(head.slice(at + 4));
        head = head.slice(0, at + 4);
        chunk = rest;
      }
      if (start.length < 64) start += dec.decode(chunk.subarray(0, 64));
      bytes += chunk.length;
      const joined = new Uint8Array(tail.length + chunk.length);
      joined.set(tail);
      joined.set(chunk, tail.length);
      tail = joined.slice(-64);
    }
    return {
      status: Number(head.slice(9, 12)),
      head,
      bodyBytes: bytes,
      start: start.slice(0, 64),
      end: dec.decode(tail),
    };
  } finally {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}

/** Sends one text frame from a raw client (masked with a zero key, as the protocol allows). */
export async function sendText(conn: Deno.Conn, text: string): Promise<void> {
  const payload = enc.encode(text);
  const n = payload.length;
  const ext = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const frame = new Uint8Array(2 + ext + 4 + n);
  const view = new DataView(frame.buffer);
  frame[0] = 0x81;
  frame[1] = 0x80 | (ext === 0 ? n : ext === 2 ? 126 : 127);
  if (ext === 2) view.setUint16(2, n);
  if (ext === 8) view.setBigUint64(2, BigInt(n));
  frame.set(payload, 2 + ext + 4);
  let at = 0;
  while (at < frame.length) at += await conn.write(frame.subarray(at));
}
