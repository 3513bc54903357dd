// Retention: held messages are kept whole for store.quarantine_retention_days (default 30, as the
// schools keep their backups), then their raw bytes are purged; the incident, its redacted
// findings and its history stay for store.incident_retention_years (default 6), then go too.
// Every purge leaves an entry: in the incident's history, and in the audit log that outlives it.
// A message released but not yet delivered (its release still in the outbox) is kept until it is.
import type { Store } from './index.ts';
import { appendHistory, iso } from './incidents.ts';

export const RETENTION_ACTOR = 'hallmonitor (retention)';

export interface RetentionResult { messagesPurged: number; incidentsDeleted: number }

export async function applyRetention(store: Store, now = new Date(), batch = 200): Promise<RetentionResult> {
  const { db, settings } = store;
  const messageCutoff = new Date(now.getTime() - settings.quarantineRetentionDays * 86_400_000);
  const incidentCutoff = new Date(now);
  incidentCutoff.setUTCFullYear(incidentCutoff.getUTCFullYear() - settings.incidentRetentionYears);
  let messagesPurged = 0;
  let incidentsDeleted = 0;

  for (;;) {
    const n = await db.transaction().execute(async (trx) => {
      const due = await trx
        .selectFrom('held_messages')
        .select(['message_id', 'reference', 'received_at'])
        .where('purged_at', 'is', null)
        .where('received_at', '<', iso(messageCutoff))
        // Not while a release of it is still being delivered (the next hop deferring it): the
        // business manager released it in time, and it is deleted once it has gone or failed.
        .where(({ not, exists, selectFrom }) =>
          not(exists(selectFrom('outbox').select('outbox.id').whereRef('outbox.reference', '=', 'held_messages.reference').where('outbox.job', '=', 'release').where('outbox.status', 'in', ['pending', 'sending']))))
        .orderBy('received_at')
        .limit(batch)
        .execute();
      if (!due.length) return 0;
      const purged = await trx
        .updateTable('held_messages')
        .set({ raw: null, purged_at: iso(now) })
        .where('message_id', 'in', due.map((d) => d.message_id))
        .where('purged_at', 'is', null)
        .returning(['reference'])
        .execute();
      for (const p of purged) {
        await appendHistory(trx, p.reference, RETENTION_ACTOR, 'message-purged',
          `the held message was deleted after the ${settings.quarantineRetentionDays}-day quarantine retention period; the incident record is kept`, now);
      }
      if (purged.length) {
        await trx.insertInto('audit_log').values({
          at: iso(now), actor: RETENTION_ACTOR, action: 'messages-purged',
          detail: `${purged.length} held message(s) received before ${iso(messageCutoff)} deleted: ${purged.map((p) => p.reference).join(', ')}`,
        }).execute();
      }
      return purged.length;
    });
    messagesPurged += n;
    if (n < batch) break;
  }

  for (;;) {
    const n = await db.transaction().execute(async (trx) => {
      const due = await trx
        .selectFrom('incidents')
        .select('reference')
        .where('detected_at', '<', iso(incidentCutoff))
        .orderBy('detected_at')
        .limit(batch)
        .execute();
      if (!due.length) return 0;
      const refs = due.map((d) => d.reference);
      await trx.deleteFrom('outbox').where('reference', 'in', refs).execute();
      await trx.deleteFrom('link_uses').where('reference', 'in', refs).execute();
      await trx.deleteFrom('held_messages').where('reference', 'in', refs).execute();
      await trx.deleteFrom('incident_history').where('reference', 'in', refs).execute();
      const deleted = await trx.deleteFrom('incidents').where('reference', 'in', refs).executeTakeFirst();
      await trx.insertInto('audit_log').values({
        at: iso(now), actor: RETENTION_ACTOR, action: 'incidents-deleted',
        detail: `${refs.length} incident(s) detected before ${iso(incidentCutoff)} deleted after the ${settings.incidentRetentionYears}-year incident retention period: ${refs.join(', ')}`,
      }).execute();
      return Number(deleted.numDeletedRows);
    });
    incidentsDeleted += n;
    if (n < batch) break;
  }
  return { messagesPurged, incidentsDeleted };
}

export interface AuditEntry { at: Date; actor: string; action: string; detail: string | null }

export async function auditLog(store: Store, limit = 100): Promise<AuditEntry[]> {
  const rows = await store.db.selectFrom('audit_log').select(['at', 'actor', 'action', 'detail']).orderBy('id', 'desc').limit(limit).execute();
  return rows.map((r) => ({ at: new Date(r.at), actor: r.actor, action: r.action, detail: r.detail }));
}

/** Runs retention now and then every `everyMs` (default hourly) until stopped. */
export function startRetention(store: Store, opts: { everyMs?: number; onResult?: (r: RetentionResult) => void; onError?: (e: Error) => void } = {}): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  let stopped = false;
  const run = () => {
    if (running || stopped) return;
    running = applyRetention(store)
      .then((r) => opts.onResult?.(r))
      .catch((e: Error) => opts.onError?.(e))
      .finally(() => { running = undefined; });
  };
  const timer = setInterval(run, opts.everyMs ?? 3_600_000);
  timer.unref();
  run();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
