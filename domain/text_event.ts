/**
 * A feed event whose data stays JSON text until someone reads it: streams
 * send the text as it is, so an event read from the database is neither
 * parsed nor stringified on its way to the kitchen screens.
 */
import type { FeedEvent } from "./types.ts";

/** A feed event with its data left as JSON text (one line, as streams need it). */
export type TextFeedEvent = Omit<FeedEvent, "data"> & { dataJson: string };

/** `text` as one line of JSON: stored by this code it already is; anything else is re-encoded. */
export function oneLineJson(text: string): string {
  return /[\r\n]/.test(text) ? JSON.stringify(JSON.parse(text)) : text;
}

/** A `FeedEvent` over JSON text: `data` is parsed on first use. */
export class TextEvent implements FeedEvent {
  readonly id: number;
  readonly type: string;
  readonly dataJson: string;
  readonly createdAt: number;
  #data: { value: unknown } | null = null;

  constructor(r: TextFeedEvent) {
    this.id = r.id;
    this.type = r.type;
    this.dataJson = r.dataJson;
    this.createdAt = r.createdAt;
  }

  get data(): unknown {
    this.#data ??= { value: JSON.parse(this.dataJson) };
    return this.#data.value;
  }
}
