/** Exactly-once effects on PostgreSQL: the key is claimed FIRST, then the effect runs, in one transaction. */
import { InFlightError } from "../../domain/errors.ts";
import type { IdemKey } from "../../domain/idempotency.ts";
import { keyReused } from "../../domain/idempotency.ts";
import type { Outcome } from "../libsql/idempotency.ts";
import type { PgTx } from "./tx.ts";

export type { Outcome };

/**
 * Claims `idem` for this transaction; resolves to null when it is ours, or to
 * the stored outcome to replay. The INSERT runs before anything else: a
 * concurrent request with the same key blocks on that row until the other
 * transaction ends, then sees its outcome (or, if it rolled back, claims the
 * key). Start the effect's first reads right after calling this (before
 * awaiting it): they are pipelined behind the claim. A key reused with another
 * body is a 422.
 */
export async function claimKey(
  tx: PgTx,
  idem: IdemKey,
): Promise<Outcome | null> {
  const inserted = tx.sql`
    INSERT INTO idempotency_keys (scope, key, fingerprint, created_at)
    VALUES (${idem.scope}, ${idem.key}, ${idem.fingerprint}, ${tx.now})
    ON CONFLICT (scope, key) DO NOTHING
    RETURNING 1`.execute();
  // A second statement: its snapshot is taken after the INSERT waited out a concurrent claim.
  const stored = tx.sql`
    SELECT fingerprint, status, body, resource_id FROM idempotency_keys
    WHERE scope = ${idem.scope} AND key = ${idem.key}`.execute();
  const [claimed, [row]] = await Promise.all([inserted, stored]);
  if (claimed.length > 0) return null;
  if (!row) return claimKey(tx, idem); // purged in between: claim afresh
  if (row.fingerprint !== idem.fingerprint) throw keyReused(idem);
  if (row.status === null) {
    throw new InFlightError(
      `A request with Idempotency-Key "${idem.key}" is still being processed`,
    );
  }
  return {
    status: Number(row.status),
    body: row.body,
    resourceId: Number(row.resource_id),
  };
}

/** Stores the outcome under a key this transaction claimed; sent with COMMIT. */
export function storeOutcome(tx: PgTx, idem: IdemKey, out: Outcome): void {
  tx.defer(tx.sql`
    UPDATE idempotency_keys
    SET status = ${out.status}, body = ${JSON.stringify(out.body)}::text::json,
        resource_id = ${out.resourceId}
    WHERE scope = ${idem.scope} AND key = ${idem.key}`);
}

/**
 * Runs `effect` once per key, inside the caller's transaction: claims the key
 * first, replays a stored outcome, or runs `effect` and stores its outcome
 * with the same COMMIT. Same contract as the libSQL `idempotent`.
 *
 * @param tx the write transaction (from `PostgresStore.transaction`)
 * @param idem the key, or null/undefined to just run `effect`
 * @param effect the change; its outcome is stored with the key
 */
export async function idempotent(
  tx: PgTx,
  idem: IdemKey | null | undefined,
  effect: () => Promise<Outcome>,
): Promise<Outcome & { replayed: boolean }> {
  if (!idem) return { ...(await effect()), replayed: false };
  const replay = await claimKey(tx, idem);
  if (replay) return { ...replay, replayed: true };
  const out = await effect();
  storeOutcome(tx, idem, out);
  return { ...out, replayed: false };
}
