// Holding a message. A hold writes the raw bytes, the
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

export { heldMessage };
