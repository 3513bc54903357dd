// The review actions on a held message, taken by the business manager from the console or the
// CLI: release (deliver it unchanged, not checked again), reject (the sender is told, with the
// reviewer's reason redacted), and the breach procedure (potential breach and the 72-hour ICO clock,
// escalation of a release that turned out wrong, the outcome). Each is one transaction with its
// history entry and its notices.
import type { Incident } from '../store/incidents.ts';
import { appendHistory, findIncident, ICO_DEADLINE_HOURS, iso, NOTE_TO_SENDER, transition, updateIncidentFields } from '../store/incidents.ts';
import { enqueue } from '../store/outbox.ts';
import type { IncidentStatus } from '../store/schema.ts';
import { schoolNotify, type HoldContext } from '../act/hold.ts';
import { escalationNotices, isAutoSubmitted, rejectNotices } from '../act/notify/plan.ts';

export { NOTE_TO_SENDER };

/** The history entry of a message its sender sent anyway (sender_may_override), with their reason. */
export const SENDER_OVERRIDE = 'sent-anyway-by-sender';

/** Thrown when a review action does not apply: unknown reference, or the incident has moved on. */
export class IncidentActionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IncidentActionError';
  }
}

async function mustFind(ctx: HoldContext, key: string): Promise<Incident> {
  const inc = await findIncident(ctx.store.db, key);
  if (!inc) throw new IncidentActionError(`no incident ${key}`);
  return inc;
}

/**
 * Release: the incident moves open → released and a release job (deliver the original bytes to
 * the original envelope recipients, not re-scanned) is queued, in one transaction. The caller or
 * any gateway's outbox worker then delivers it. Returns the outbox job id.
 */
export async function releaseIncident(ctx: HoldContext, key: string, actor: string, reason: string, opts: { override?: string; claim?: { worker: string; until: Date } } = {}): Promise<{ incident: Incident; jobId: string }> {
  const inc = await mustFind(ctx, key);
  const now = ctx.now?.() ?? new Date();
  const jobId = await ctx.store.db.transaction().execute(async (trx) => {
    const msg = await trx.selectFrom('held_messages').select(['message_id', 'purged_at']).where('reference', '=', inc.reference).executeTakeFirst();
    if (!msg || msg.purged_at) throw new IncidentActionError(`${inc.reference}: the held message was deleted${msg?.purged_at ? ` on ${msg.purged_at.slice(0, 10)} (quarantine retention)` : ''}; there is nothing to release`);
    if (!(await transition(trx, inc.reference, ['open'], 'released', now))) {
      const current = await trx.selectFrom('incidents').select('status').where('reference', '=', inc.reference).executeTakeFirstOrThrow();
      throw new IncidentActionError(`${inc.reference} is ${current.status}, not open: only open incidents can be released`);
    }
    await appendHistory(trx, inc.reference, actor, 'released', reason || null, now);
    // The sender's own decision (src/review/console/routes/links.ts), with their reason, redacted:
    // counted and listed in the governors' report.
    if (opts.override !== undefined) await appendHistory(trx, inc.reference, actor, SENDER_OVERRIDE, opts.override, now);
    const [id] = await enqueue(trx, [{
      job: 'release', template: 'release', recipient: '', reference: inc.reference, tenant: inc.tenant, mode: 'immediate', due: now, actor,
      messageIdHeader: '', claim: opts.claim,
    }], now);
    return id;
  });
  ctx.onQueued?.();
  return { incident: { ...inc, status: 'released' }, jobId };
}

/** Reject: open → rejected, and the sender is told it will not be sent. */
export async function rejectIncident(ctx: HoldContext, key: string, actor: string, reason: string, opts: { tellSender?: boolean } = {}): Promise<{ incident: Incident; notices: number }> {
  const inc = await mustFind(ctx, key);
  const now = ctx.now?.() ?? new Date();
  const notices = await ctx.store.db.transaction().execute(async (trx) => {
    if (!(await transition(trx, inc.reference, ['open'], 'rejected', now))) {
      const current = await trx.selectFrom('incidents').select('status').where('reference', '=', inc.reference).executeTakeFirstOrThrow();
      throw new IncidentActionError(`${inc.reference} is ${current.status}, not open: only open incidents can be rejected`);
    }
    await appendHistory(trx, inc.reference, actor, 'rejected', reason || null, now);
    // The reviewer's words reach the sender only redacted (a reason may well name the pupil), and
    // only where this context can redact them; what the sender was told is itself recorded.
    const note = reason.trim() && ctx.redactNote ? ctx.redactNote(reason.trim(), inc.tenant) : undefined;
    if (note) await appendHistory(trx, inc.reference, actor, NOTE_TO_SENDER, note, now);
    const raw = await trx.selectFrom('held_messages').select('raw').where('reference', '=', inc.reference).executeTakeFirst();
    const automatic = raw?.raw ? isAutoSubmitted(Buffer.from(raw.raw)) : false;
    const rows = automatic || opts.tellSender === false ? [] : rejectNotices(schoolNotify(ctx, inc.tenant), inc, now);
    await enqueue(trx, rows, now);
    return rows.length;
  });
  if (notices) ctx.onQueued?.();
  return { incident: { ...inc, status: 'rejected' }, notices };
}

export interface IncidentUpdate {
  /** Record the outcome of the breach procedure. */
  status?: Extract<IncidentStatus, 'reported-to-ico' | 'closed-no-breach'>;
  /** Mark (or unmark) as a potential breach: starts the 72-hour ICO clock from detection. */
  potentialBreach?: boolean;
  /** A released message turned out wrong: potential breach from now, business manager told. */
  escalate?: boolean;
}

/**
 * Why the breach procedure's outcome cannot be recorded on this incident now, or undefined when it
 * can (the console offers only the forms this allows; the routes and the CLI are refused the rest).
 * A message still held is decided first: closed, it would leave the queue unsent and never be
 * sendable, and the sender never told. Only a potential breach is reported to the ICO.
 */
export function outcomeRefusal(inc: Pick<Incident, 'reference' | 'kind' | 'status' | 'potentialBreach'>, status: 'reported-to-ico' | 'closed-no-breach'): string | undefined {
  if (inc.kind === 'held' && inc.status === 'open') return `${inc.reference} is still held: release or reject the message first`;
  if (status === 'reported-to-ico' && !inc.potentialBreach) return `${inc.reference} is not marked as a potential breach: mark it first`;
  return undefined;
}

export async function updateIncident(ctx: HoldContext, key: string, actor: string, reason: string, change: IncidentUpdate): Promise<Incident> {
  const inc = await mustFind(ctx, key);
  const now = ctx.now?.() ?? new Date();
  // Judged as the incident will stand after the change (marked or unmarked in the same step).
  const refused = change.status && outcomeRefusal({ ...inc, potentialBreach: change.escalate === true || (change.potentialBreach ?? inc.potentialBreach) }, change.status);
  if (refused) throw new IncidentActionError(refused);
  let queued = 0;
  await ctx.store.db.transaction().execute(async (trx) => {
    if (change.escalate) {
      // Closed after its release is escalated as released; closed without ever going out is not.
      const wentOut = inc.status === 'released'
        || (inc.status === 'closed-no-breach' && !!(await trx.selectFrom('incident_history').select('id').where('reference', '=', inc.reference).where('action', '=', 'released').executeTakeFirst()));
      if (!wentOut) {
        throw new IncidentActionError(`${inc.reference} is ${inc.status}: only a released message (one that was delivered) can be escalated; mark it a potential breach instead`);
      }
      const deadline = new Date(now.getTime() + ICO_DEADLINE_HOURS * 3_600_000);
      await updateIncidentFields(trx, inc.reference, { escalated_at: iso(now), potential_breach: 1, breach_marked_at: iso(now), ico_deadline: iso(deadline) }, now);
      await appendHistory(trx, inc.reference, actor, 'escalated', `potential breach; ICO deadline ${iso(deadline)}${reason ? `; ${reason}` : ''}`, now);
      if (inc.status === 'closed-no-breach') await transition(trx, inc.reference, ['closed-no-breach'], 'released', now);
      const rows = escalationNotices(schoolNotify(ctx, inc.tenant), { ...inc, potentialBreach: true, icoDeadline: deadline, escalatedAt: now }, now, actor);
      await enqueue(trx, rows, now);
      queued += rows.length;
    }
    if (change.potentialBreach !== undefined && !change.escalate) {
      if (change.potentialBreach) {
        const deadline = new Date(inc.detectedAt.getTime() + ICO_DEADLINE_HOURS * 3_600_000);
        await updateIncidentFields(trx, inc.reference, { potential_breach: 1, breach_marked_at: iso(now), ico_deadline: iso(deadline) }, now);
        await appendHistory(trx, inc.reference, actor, 'marked-potential-breach', `ICO deadline ${iso(deadline)} (72 hours from detection)${reason ? `; ${reason}` : ''}`, now);
      } else {
        await updateIncidentFields(trx, inc.reference, { potential_breach: 0, ico_deadline: null }, now);
        await appendHistory(trx, inc.reference, actor, 'unmarked-potential-breach', reason || null, now);
      }
    }
    if (change.status) {
      const ok = await transition(trx, inc.reference, ['open', 'released', 'rejected', 'reported-to-ico', 'closed-no-breach'].filter((s) => s !== change.status) as IncidentStatus[], change.status, now);
      if (!ok) throw new IncidentActionError(`${inc.reference} is already ${change.status}`);
      await appendHistory(trx, inc.reference, actor, `status-${change.status}`, reason || null, now);
    }
  });
  if (queued) ctx.onQueued?.();
  return (await findIncident(ctx.store.db, inc.reference))!;
}

