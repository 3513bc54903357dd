// The transactional outbox: notices and release deliveries are rows written in the same
// transaction as the incident change that causes them, then sent by a worker. A row is claimed
// with a lease (status `sending`, claimed_until), so a worker that dies mid-send leaves a row
// another worker picks up once the lease ends; on PostgreSQL claims skip rows another gateway
// has locked (FOR UPDATE SKIP LOCKED), so each row is taken by one worker at a time.
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, OutboxJob, OutboxTable } from './schema.ts';
import type { StoreKind } from './migrations.ts';
import { iso } from './incidents.ts';

type Db = Kysely<Database>;

export interface NewOutboxRow {
  job: OutboxJob;
  template: string;
  recipient: string;
  reference: string;
  /** The incident's school (tenant id): the notice is composed with its settings and templates. */
  tenant: string;
  mode: 'immediate' | 'digest';
  /** When it may first be sent: now, or the next digest time. */
  due: Date;
  actor?: string;
  messageIdHeader: string;
  /**
   * Claimed at once by this worker until then (status `sending`, one attempt): a release the
   * command line delivers itself is not taken by a running gateway's worker between the commit
   * and the claim. Should the claimant die, the row is taken over once the lease ends, as any.
   */
  claim?: { worker: string; until: Date };
}

export type OutboxRow = OutboxTable;

export async function enqueue(db: Db, rows: NewOutboxRow[], now: Date): Promise<string[]> {
  if (!rows.length) return [];
  const values = rows.map((r) => ({
    id: randomUUID(),
    job: r.job,
    template: r.template,
    recipient: r.recipient,
    reference: r.reference,
    tenant: r.tenant,
    mode: r.mode,
    status: r.claim ? 'sending' as const : 'pending' as const,
    created_at: iso(now),
    next_attempt_at: iso(r.due),
    attempts: r.claim ? 1 : 0,
    claimed_by: r.claim?.worker ?? null,
    claimed_until: r.claim ? iso(r.claim.until) : null,
    last_error: null,
    sent_at: null,
    message_id_header: r.messageIdHeader,
    actor: r.actor ?? null,
  }));
  await db.insertInto('outbox').values(values).execute();
  return values.map((v) => v.id);
}

/**
 * Claims up to `limit` due rows for `worker`: pending rows whose time has come, and rows whose
 * previous claimant's lease ran out. One UPDATE … WHERE id IN (SELECT … [FOR UPDATE SKIP LOCKED])
 * RETURNING statement, atomic on both databases.
 */
export async function claimDue(db: Db, kind: StoreKind, worker: string, now: Date, leaseMs: number, limit: number, only?: { id?: string; job?: OutboxJob }): Promise<OutboxRow[]> {
  const nowText = iso(now);
  return db
    .updateTable('outbox')
    .set((eb) => ({ status: 'sending', claimed_by: worker, claimed_until: iso(new Date(now.getTime() + leaseMs)), attempts: eb('attempts', '+', 1) }))
    .where('id', 'in', (eb) => {
      let q = eb
        .selectFrom('outbox')
        .select('id')
        .where((w) => w.or([
          w.and([w('status', '=', 'pending'), w('next_attempt_at', '<=', nowText)]),
          w.and([w('status', '=', 'sending'), w('claimed_until', '<', nowText)]),
        ]));
      if (only?.id) q = q.where('id', '=', only.id);
      if (only?.job) q = q.where('job', '=', only.job);
      q = q.orderBy('next_attempt_at').limit(limit);
      return kind === 'postgres' ? q.forUpdate().skipLocked() : q;
    })
    .returningAll()
    .execute();
}

/** Marks claimed rows sent; only the claimant can (a row whose lease was taken over is left alone). */
export async function markSent(db: Db, ids: string[], worker: string, now: Date): Promise<number> {
  if (!ids.length) return 0;
  const res = await db
    .updateTable('outbox')
    .set({ status: 'sent', sent_at: iso(now), claimed_until: null, last_error: null })
    .where('id', 'in', ids)
    .where('claimed_by', '=', worker)
    .where('status', '=', 'sending')
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}

export async function markRetry(db: Db, ids: string[], worker: string, nextAttempt: Date, error: string): Promise<void> {
  if (!ids.length) return;
  await db
    .updateTable('outbox')
    .set({ status: 'pending', next_attempt_at: iso(nextAttempt), claimed_by: null, claimed_until: null, last_error: error.slice(0, 500) })
    .where('id', 'in', ids)
    .where('claimed_by', '=', worker)
    .where('status', '=', 'sending')
    .execute();
}

export async function markFailed(db: Db, ids: string[], worker: string, error: string): Promise<void> {
  if (!ids.length) return;
  await db
    .updateTable('outbox')
    .set({ status: 'failed', claimed_until: null, last_error: error.slice(0, 500) })
    .where('id', 'in', ids)
    .where('claimed_by', '=', worker)
    .where('status', '=', 'sending')
    .execute();
}

export async function outboxFor(db: Db, reference: string): Promise<OutboxRow[]> {
  return db.selectFrom('outbox').selectAll().where('reference', '=', reference).orderBy('created_at').orderBy('id').execute();
}

export async function outboxRow(db: Db, id: string): Promise<OutboxRow | undefined> {
  return db.selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The earliest time any row becomes due, so an idle worker can sleep until then. */
export async function nextDue(db: Db): Promise<Date | null> {
  const r = await db.selectFrom('outbox').select((eb) => eb.fn.min('next_attempt_at').as('t')).where('status', '=', 'pending').executeTakeFirst();
  return r?.t ? new Date(r.t as string) : null;
}
