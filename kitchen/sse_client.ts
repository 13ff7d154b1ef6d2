/** A small server-sent-events reader for Deno clients (tests, the fan-out benchmark). */

/** One dispatched SSE message. */
export interface SseMessage {
  /** The `id:` of this message, or null when it carried none. */
  id: string | null;
  event: string;
  data: string;
}

/** Reads `text/event-stream` from a response body, message by message. */
export class SseReader {
  #reader: ReadableStreamDefaultReader<string>;
  #buffer = "";
  #queue: SseMessage[] = [];
  #event = "";
  #data: string[] = [];
  #id: string | null = null;
  #done = false;
  /** Comment lines seen (heartbeats start with `: heartbeat`). */
  comments: string[] = [];
  /** The last `retry:` value, if any. */
  retry: number | null = null;

  /** @param body the response body */
  constructor(body: ReadableStream<Uint8Array>) {
    this.#reader = body.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** Next message, or null when the stream ended. */
  async next(): Promise<SseMessage | null> {
    while (this.#queue.length === 0) {
      if (this.#done) return null;
      const { value, done } = await this.#reader.read();
      if (done) {
        this.#done = true;
        continue;
      }
      this.#feed(value);
    }
    return this.#queue.shift()!;
  }

  /** Reads until `pred` holds for a message; null if the stream ended first. */
  async until(pred: (m: SseMessage) => boolean): Promise<SseMessage | null> {
    for (;;) {
      const m = await this.next();
      if (m === null || pred(m)) return m;
    }
  }

  /** Reads more input without waiting for a message (for comments); false at the end. */
  async pump(): Promise<boolean> {
    const { value, done } = await this.#reader.read();
    if (done) {
      this.#done = true;
      return false;
    }
    this.#feed(value);
    return true;
  }

  /** Stops reading and releases the connection. */
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }

  // Lines end with LF (or CRLF); a lone CR, which this server never sends, is not a line end here.
  #feed(text: string): void {
    const buf = this.#buffer + text;
    let start = 0;
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n", start)) {
      const end = nl > start && buf.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      this.#line(buf.slice(start, end));
      start = nl + 1;
    }
    this.#buffer = buf.slice(start);
  }

  #line(line: string): void {
    if (line === "") {
      if (this.#data.length > 0) {
        this.#queue.push({
          id: this.#id,
          event: this.#event || "message",
          data: this.#data.join("\n"),
        });
      }
      this.#event = "";
      this.#data = [];
      this.#id = null;
      return;
    }
    if (line.startsWith(":")) {
      this.comments.push(line.slice(1).trim());
      return;
    }
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.#data.push(value);
    else if (field === "event") this.#event = value;
    else if (field === "id") this.#id = value;
    else if (field === "retry" && /^\d+$/.test(value)) {
      this.retry = Number(value);
    }
  }
}
