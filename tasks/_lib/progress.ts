/** A live status line on stderr: redrawn in place on a terminal, every few seconds otherwise. */

const enc = new TextEncoder();

/** Redraws `render()` until stopped. */
export class Progress {
  readonly #render: () => string;
  readonly #tty = Deno.stderr.isTerminal();
  readonly #t0 = performance.now();
  #timer: ReturnType<typeof setInterval> | undefined;

  /**
   * @param render builds the line (elapsed seconds are prefixed)
   * @param opts.intervalMs redraw period on a terminal; off a terminal a line every 5 s
   */
  constructor(render: () => string, opts: { intervalMs?: number } = {}) {
    this.#render = render;
    const every = this.#tty ? opts.intervalMs ?? 200 : 5000;
    this.#timer = setInterval(() => this.#draw(), every);
  }

  #line(): string {
    const s = ((performance.now() - this.#t0) / 1000).toFixed(1);
    return `[${s.padStart(5)} s] ${this.#render()}`;
  }

  #draw(): void {
    const line = this.#line();
    const text = this.#tty
      ? `\r\x1b[2K${line.slice(0, Deno.consoleSize?.().columns ?? 120)}`
      : `${line}\n`;
    Deno.stderr.writeSync(enc.encode(text));
  }

  /** Stops redrawing; leaves the last state on its own line. */
  stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    const text = this.#tty ? `\r\x1b[2K${this.#line()}\n` : `${this.#line()}\n`;
    Deno.stderr.writeSync(enc.encode(text));
  }
}

/** One status line on stderr (clears a live line first). */
export function note(message: string): void {
  const prefix = Deno.stderr.isTerminal() ? "\r\x1b[2K" : "";
  Deno.stderr.writeSync(enc.encode(`${prefix}${message}\n`));
}
