// Failure notices (bounces) waiting to be sent. When the next hop takes a message but refuses some
// of its recipients, the school's server has already heard 250 (the others have it), so telling the
// sender is the gateway's job, and the notice must survive a next hop that is down and a restart,
// as a mail server's bounce does in its queue. It is written here before anyone is told the message
// went, and sent by the outbox worker (src/act/notify/worker.ts), claimed with a lease like an
// outbox row; a row is deleted once its notice has gone or been given up on (the log says which).
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { BounceTable, Database } from './schema.ts';
import type { StoreKind } from './migrations.ts';
import { iso } from './incidents.ts';

type Db = Kysely<Database>;

export type BounceRow = BounceTable;

export async function enqueueBounce(db: Db, recipient: string, raw: Buffer, now: Date): Promise<string> {
  const id = randomUUID();
  await db
    .insertInto('bounces')
    .values({ id, recipient, raw, status: 'pending', created_at: iso(now), next_attempt_at: iso(now), attempts: 0, claimed_by: null, claimed_until: null, last_error: null })
    .execute();
  return id;
}

/** Claims up to `limit` due notices for `worker` (pending and due, or a lease run out), as outbox rows are claimed. */
export async function claimDueBounces(db: Db, kind: StoreKind, worker: string, now: Date, leaseMs: number, limit: number): Promise<BounceRow[]> {
  const nowText = iso(now);
  const rows = await db
    .updateTable('bounces')
    .set((eb) => ({ status: 'sending', claimed_by: worker, claimed_until: iso(new Date(now.getTime() + leaseMs)), attempts: eb('attempts', '+', 1) }))
    .where('id', 'in', (eb) => {
      const q = eb
        .selectFrom('bounces')
        .select('id')
        .where((w) => w.or([
          w.and([w('status', '=', 'pending'), w('next_attempt_at', '<=', nowText)]),
          w.and([w('status', '=', 'sending'), w('claimed_until', '<', nowText)]),
        ]))
        .orderBy('next_attempt_at')
        .limit(limit);
      return kind === 'postgres' ? q.forUpdate().skipLocked() : q;
    })
    .returningAll()
    .execute();
  // SQLite hands BLOBs back as Uint8Array.
  for (const r of rows) if (!Buffer.isBuffer(r.raw)) r.raw = Buffer.from(r.raw as Uint8Array);
  return rows;
}

/** Sent, or given up on: gone (only the claimant can). */
export async function removeBounce(db: Db, id: string, worker: string): Promise<void> {
  await db.deleteFrom('bounces').where('id', '=', id).where('claimed_by', '=', worker).execute();
}

export async function retryBounce(db: Db, id: string, worker: string, nextAttempt: Date, error: string): Promise<void> {
  await db
    .updateTable('bounces')
    .set({ status: 'pending', next_attempt_at: iso(nextAttempt), claimed_by: null, claimed_until: null, last_error: error.slice(0, 500) })
    .where('id', '=', id)
    .where('claimed_by', '=', worker)
    .execute();
}

/** Notices waiting (for /system and tests). */
export async function pendingBounces(db: Db): Promise<number> {
  const r = await db.selectFrom('bounces').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
  return Number(r?.n ?? 0);
}
