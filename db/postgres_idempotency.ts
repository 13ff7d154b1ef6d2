/** Exactly-once effects on PostgreSQL: the key is claimed FIRST, then the effect runs, in one transaction. */
import { InFlightError } from "../domain/errors.ts";
import type { IdemKey } from "../domain/idempotency.ts";
import { keyReused, type Outcome } from "./libsql_idempotency.ts";
import type { PgTx } from "./postgres_tx.ts";

export type { Outcome };

/**
 * Runs `effect` once per key, inside the caller's transaction. The key row is
 * inserted before anything else (`ON CONFLICT DO NOTHING`): a concurrent
 * request with the same key blocks on that row until this transaction ends,
 * then sees the stored outcome (replayed) or, if this one rolled back, claims
 * the key itself. Effects that ran first and claimed after leaked stock under
 * duplicate keys. A key reused with another body is a 422.
 *
 * @param tx the write transaction (from `PostgresStore.transaction`)
 * @param idem the claimed key, or null/undefined to just run `effect`
 * @param effect the change; its outcome is stored with the key
 */
export async function idempotent(
  tx: PgTx,
  idem: IdemKey | null | undefined,
  effect: () => Promise<Outcome>,
): Promise<Outcome & { replayed: boolean }> {
  if (!idem) return { ...(await effect()), replayed: false };
  const claimed = await tx.sql`
    INSERT INTO idempotency_keys (scope, key, fingerprint, created_at)
    VALUES (${idem.scope}, ${idem.key}, ${idem.fingerprint}, ${tx.now})
    ON CONFLICT (scope, key) DO NOTHING
    RETURNING 1`;
  if (claimed.length === 0) {
    const [row] = await tx.sql`
      SELECT fingerprint, status, body, resource_id FROM idempotency_keys
      WHERE scope = ${idem.scope} AND key = ${idem.key}`;
    // The row vanished between the two statements (purged): claim it afresh.
    if (!row) return idempotent(tx, idem, effect);
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
      replayed: true,
    };
  }
  const out = await effect();
  await tx.sql`
    UPDATE idempotency_keys
    SET status = ${out.status}, body = ${JSON.stringify(out.body)}::text::json,
        resource_id = ${out.resourceId}
    WHERE scope = ${idem.scope} AND key = ${idem.key}`;
  return { ...out, replayed: false };
}
