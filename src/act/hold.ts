// Holding a message, and the review actions on a held message. A hold writes the raw bytes, the
// envelope, the verdict and findings, the incident, its first history entry and the outbox rows
// for every notice in ONE transaction, and resolves only after the commit: only then may the
// upstream hear 250. If anything fails, nothing is kept and the upstream hears 451 and retries.
import { createHash } from 'node:crypto';
import type { Store } from '../store/index.ts';
import {
  appendHistory, findIncident, heldMessage, ICO_DEADLINE_HOURS, insertHeldMessage, insertIncident, iso, nextReference, transition, updateIncidentFields,
  type Incident,
} from '../store/incidents.ts';
import { enqueue } from '../store/outbox.ts';
import type { IncidentStatus } from '../store/schema.ts';
import type { ReceivedMessage, Verdict } from '../types.ts';
import { SINGLE_TENANT } from '../tenants.ts';
import { escalationNotices, holdNotices, isAutoSubmitted, rejectNotices } from './notify/plan.ts';
import type { NotifySettings } from './notify/settings.ts';

export const SYSTEM_ACTOR = 'hallmonitor';
/** History action holding the redacted reason the sender of a rejected message is shown. */
export const NOTE_TO_SENDER = 'note-to-sender';

export interface HoldContext {
  store: Store;
  /** Who is told, and how: the school's settings (the trust's defaults when there are several schools). */
  notify: NotifySettings;
  /**
   * Each school's own settings by tenant id, when one service serves several: its business manager,
   * safeguarding lead and domains decide who hears about its incidents. Unknown ids use `notify`.
   */
  notifyFor?: (tenant: string) => NotifySettings | undefined;
  /** This gateway's name, recorded on the incident. */
  hostname: string;
  now?: () => Date;
  /** Redacts a reviewer's free text for the sender (pupil names, identifiers…); without it the
   *  reason of a rejection stays in the history and is not sent. */
  redactNote?: (text: string, tenant: string) => string | undefined;
  /** Called after a commit that queued notices or a release, to wake the outbox worker. */
  onQueued?: () => void;
}

export interface HoldResult { reference: string; notices: number }

/** The settings for one school's incidents. */
export function schoolNotify(ctx: HoldContext, tenant: string): NotifySettings {
  return ctx.notifyFor?.(tenant) ?? ctx.notify;
}

/** Thrown when a review action does not apply: unknown reference, or the incident has moved on. */
export class IncidentActionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IncidentActionError';
  }
}

export async function holdMessage(ctx: HoldContext, message: ReceivedMessage, verdict: Verdict, opts: { smtpReject?: boolean } = {}): Promise<HoldResult> {
  if (verdict.action === 'deliver') throw new Error('holdMessage: the verdict is deliver');
  const now = ctx.now?.() ?? new Date();
  const sha256 = createHash('sha256').update(message.raw).digest('hex');
  const automatic = isAutoSubmitted(message.raw);
  const tenant = message.tenant ?? SINGLE_TENANT;
  const result = await ctx.store.db.transaction().execute(async (trx) => {
    const reference = await nextReference(trx, now);
    const incident: Incident = {
      reference,
      tenant,
      messageId: message.id,
      detectedAt: now,
      action: verdict.action as 'quarantine' | 'block',
      kind: verdict.action === 'block' ? 'near-miss' : 'held',
      status: 'open',
      sender: message.envelope.mailFrom,
      recipients: message.envelope.rcptTo.map((r) => r.address),
      rules: verdict.rules,
      severity: verdict.severity,
      findings: verdict.findings,
      potentialBreach: false,
      breachMarkedAt: null,
      icoDeadline: null,
      escalatedAt: null,
      heldBy: ctx.hostname,
      updatedAt: now,
    };
    await insertIncident(trx, {
      reference,
      message_id: message.id,
      detected_at: iso(now),
      action: incident.action,
      kind: incident.kind,
      status: 'open',
      sender: incident.sender,
      recipients: JSON.stringify(incident.recipients),
      rules: JSON.stringify(incident.rules),
      severity: incident.severity,
      findings: JSON.stringify(incident.findings),
      potential_breach: 0,
      breach_marked_at: null,
      ico_deadline: null,
      escalated_at: null,
      held_by: ctx.hostname,
      updated_at: iso(now),
      tenant,
    });
    await insertHeldMessage(trx, message, reference, verdict, sha256);
    const what = verdict.action === 'quarantine'
      ? 'held for review'
      : opts.smtpReject ? 'blocked and refused at SMTP (near miss)' : 'blocked, not sent (near miss)';
    await appendHistory(trx, reference, SYSTEM_ACTOR, verdict.action === 'quarantine' ? 'held' : 'blocked',
      `${what}; rules: ${verdict.rules.join(', ') || 'none'}; severity ${verdict.severity}; ${message.raw.length} bytes kept (sha256 ${sha256.slice(0, 16)}…)`, now);
    const rows = holdNotices(schoolNotify(ctx, tenant), incident, now, { automatic, smtpReject: !!opts.smtpReject });
    await enqueue(trx, rows, now);
    return { reference, notices: rows.length };
  });
  if (result.notices) ctx.onQueued?.();
  return result;
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
export async function releaseIncident(ctx: HoldContext, key: string, actor: string, reason: string): Promise<{ incident: Incident; jobId: string }> {
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
    const [id] = await enqueue(trx, [{
      job: 'release', template: 'release', recipient: '', reference: inc.reference, tenant: inc.tenant, mode: 'immediate', due: now, actor,
      messageIdHeader: '',
    }], now);
    return id;
  });
  ctx.onQueued?.();
  return { incident: { ...inc, status: 'released' }, jobId };
}

/** Reject: open → rejected, and the sender is told it will not be sent. */
export async function rejectIncident(ctx: HoldContext, key: string, actor: string, reason: string): Promise<{ incident: Incident; notices: number }> {
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
    const rows = automatic ? [] : rejectNotices(schoolNotify(ctx, inc.tenant), inc, now);
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

export async function updateIncident(ctx: HoldContext, key: string, actor: string, reason: string, change: IncidentUpdate): Promise<Incident> {
  const inc = await mustFind(ctx, key);
  const now = ctx.now?.() ?? new Date();
  let queued = 0;
  await ctx.store.db.transaction().execute(async (trx) => {
    if (change.escalate) {
      if (inc.status !== 'released' && inc.status !== 'closed-no-breach') {
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

export { heldMessage };
