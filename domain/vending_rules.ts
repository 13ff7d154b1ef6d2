/**
 * The vending API's validation and errors, in Laravel's words. These are a
 * compatibility surface, so the messages keep Laravel's wording (sentence
 * with a final period) instead of ForkFlow's native style.
 */
import {
  BadRequestError,
  ConflictError,
  NotFoundError,
  ValidationError,
} from "./errors.ts";
import type { ChooseInput } from "./vending.ts";

/** Largest id and integer the vending tables hold (PostgreSQL `integer`). */
export const MAX_INT = 2 ** 31 - 1;

/** Longest accepted wait of `start-work?wait_ms=`. */
export const MAX_WAIT_MS = 30_000;

/** Laravel's field errors: `422 {message, errors: {field: [...]}}`. */
export class FieldErrors extends ValidationError {
  override name = "FieldErrors";
  /** @param fields messages per field, in rule order */
  constructor(readonly fields: Record<string, string[]>) {
    super("validation_failed", summarize(fields), { errors: fields });
  }
}

/** Laravel's summary: the first message and how many more there are. */
export function summarize(fields: Record<string, string[]>): string {
  const all = Object.values(fields).flat();
  const first = all[0] ?? "The given data was invalid.";
  const more = all.length - 1;
  if (more <= 0) return first;
  return `${first} (and ${more} more ${more === 1 ? "error" : "errors"})`;
}

/** A business rule refused the request: `422 {error}`. */
export function ruleError(message: string): ValidationError {
  return new ValidationError("vending_rule", message);
}

/** `409 {error: "No idle vending machine available."}` */
export function noIdleMachine(): ConflictError {
  return new ConflictError(
    "no_idle_machine",
    "No idle vending machine available.",
  );
}

/** `409 {error: "Machine is already idle."}` */
export function alreadyIdle(): ConflictError {
  return new ConflictError("machine_already_idle", "Machine is already idle.");
}

/** `400 {error}` for a product name that exists (DESIGN: duplicate name → 400). */
export function duplicateProduct(): BadRequestError {
  return new BadRequestError(
    "duplicate_name",
    "The name has already been taken.",
  );
}

/** Laravel's 404 for a missing bound model. */
export function modelNotFound(
  model: "VendingMachine" | "Product",
  id: number | string,
): NotFoundError {
  return new NotFoundError(
    "not_found",
    `No query results for model [App\\Models\\${model}] ${
      String(id).slice(0, 64)
    }`,
  );
}

/** Laravel's `exists` failure for an id field. */
export function invalidSelection(field: string): string {
  return `The selected ${attr(field)} is invalid.`;
}

/** One field's rules: a required (unless `optional`) string or integer. */
export type FieldRule =
  | { type: "string"; max: number; optional?: boolean }
  | { type: "integer"; min?: number; max?: number; optional?: boolean };

type Out<R extends Record<string, FieldRule>> = {
  [K in keyof R]: R[K] extends { type: "string" } ? string : number;
};

const attr = (field: string) => field.replaceAll("_", " ");
const INT_TEXT = /^[+-]?(0|[1-9]\d*)$/;

function asInteger(v: unknown): number | null {
  if (typeof v === "number") return Number.isSafeInteger(v) ? v : null;
  if (typeof v === "string" && INT_TEXT.test(v)) {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : null;
  }
  return null;
}

/** Like Laravel's TrimStrings + ConvertEmptyStringsToNull middleware. */
function blank(v: unknown): boolean {
  if (v === undefined || v === null || v === "") return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === "object" && Object.keys(v).length === 0;
}

function checkField(
  field: string,
  raw: unknown,
  rule: FieldRule,
): { value?: string | number; error?: string } {
  const v = typeof raw === "string" ? raw.trim() : raw;
  if (blank(v)) {
    return rule.optional
      ? {}
      : { error: `The ${attr(field)} field is required.` };
  }
  if (rule.type === "string") {
    if (typeof v !== "string") {
      return { error: `The ${attr(field)} field must be a string.` };
    }
    if ([...v].length > rule.max) {
      return {
        error: `The ${
          attr(field)
        } field must not be greater than ${rule.max} characters.`,
      };
    }
    return { value: v };
  }
  const n = asInteger(v);
  if (n === null) {
    return { error: `The ${attr(field)} field must be an integer.` };
  }
  if (rule.min !== undefined && n < rule.min) {
    return { error: `The ${attr(field)} field must be at least ${rule.min}.` };
  }
  if (rule.max !== undefined && n > rule.max) {
    return {
      error: `The ${attr(field)} field must not be greater than ${rule.max}.`,
    };
  }
  return { value: n };
}

/**
 * Checks `input` against `rules` the way a Laravel FormRequest does (a failed
 * `required` stops that field; fields are reported in rule order). Returns the
 * clean values and the messages per field; fields with errors are absent.
 */
export function validateFields<R extends Record<string, FieldRule>>(
  input: unknown,
  rules: R,
): { data: Partial<Out<R>>; errors: Record<string, string[]> } {
  const body = input !== null && typeof input === "object" &&
      !Array.isArray(input)
    ? input as Record<string, unknown>
    : {};
  const data: Record<string, string | number> = {};
  const errors: Record<string, string[]> = {};
  for (const [field, rule] of Object.entries(rules)) {
    const r = checkField(field, body[field], rule);
    if (r.error) errors[field] = [r.error];
    else if (r.value !== undefined) data[field] = r.value;
  }
  return { data: data as Partial<Out<R>>, errors };
}

/** Like {@link validateFields}, but throws {@link FieldErrors} on any error. */
export function requireFields<R extends Record<string, FieldRule>>(
  input: unknown,
  rules: R,
): Out<R> {
  const { data, errors } = validateFields(input, rules);
  if (Object.keys(errors).length > 0) throw new FieldErrors(errors);
  return data as Out<R>;
}

/** Rules of `POST /api/vending-machines` and `PUT /api/vending-machines/{id}`. */
export const MACHINE_RULES = {
  name: { type: "string", max: 255 },
} as const satisfies Record<string, FieldRule>;

/** Rules of `POST /api/products`. */
export const PRODUCT_RULES = {
  name: { type: "string", max: 255 },
  stock: { type: "integer", min: 0, max: MAX_INT },
} as const satisfies Record<string, FieldRule>;

/** Rules of `PATCH /api/products/{id}/stock`. */
export const STOCK_RULES = {
  stock: { type: "integer", min: 0, max: MAX_INT },
} as const satisfies Record<string, FieldRule>;

/** Rules of `POST /api/orchestrator/choose-product` (existence is checked in the store). */
export const CHOOSE_RULES = {
  machine_id: { type: "integer" },
  product_id: { type: "integer" },
  count: { type: "integer", min: 1, max: MAX_INT },
  coins: { type: "integer", min: 1, max: MAX_INT },
} as const satisfies Record<string, FieldRule>;

/** Rules of the `start-work` query string. */
export const WAIT_RULES = {
  wait_ms: { type: "integer", min: 0, max: MAX_WAIT_MS, optional: true },
} as const satisfies Record<string, FieldRule>;

/**
 * The purchase rules that need no database, in the Laravel service's order:
 * coins must equal count. Machine state and stock are checked in the store.
 */
export function checkCoins(input: ChooseInput): void {
  if (input.coins !== input.count) {
    throw ruleError(
      "Coins must equal the number of products (1 coin per item).",
    );
  }
}

/** The 422 when the machine is not waiting for a choice. */
export function notChoosing(): ValidationError {
  return ruleError("Machine is not in choose_product state.");
}

/** The 422 when the product has fewer items than asked for. */
export function insufficientStock(available: number): ValidationError {
  return ruleError(`Insufficient stock. Available: ${available}`);
}

/** True when `id` can name a row (ids outside it never exist). */
export function isRowId(id: number): boolean {
  return Number.isInteger(id) && id >= 1 && id <= MAX_INT;
}
