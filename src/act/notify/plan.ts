// Who is told about an incident, and when: the rows a hold (or a review action) writes to the
// outbox in its own transaction.
import { randomBytes } from 'node:crypto';
import type { Incident } from '../../store/incidents.ts';
import type { NewOutboxRow } from '../../store/outbox.ts';
import { nextDigestTime, notifyModeFor, type NotifySettings } from './settings.ts';

/** Outbox template ids: the notice templates, plus the safeguarding lead's copy of the business manager's. */
export type OutboxTemplate = 'business-manager' | 'safeguarding-lead' | 'business-manager-escalated' | 'sender-held' | 'sender-not-sent' | 'sender-rejected';

export function messageIdFor(reference: string, template: string, hostname: string): string {
  return `<${reference}.${template}.${randomBytes(6).toString('hex')}@${hostname}>`;
}

/** The sender is written to only at a school address (never backscatter to outsiders) and never in reply to automatic mail. */
export function senderMayBeTold(s: NotifySettings, sender: string, automatic: boolean): boolean {
  if (!sender || automatic) return false;
  const at = sender.lastIndexOf('@');
  if (at < 1) return false;
  const domain = sender.slice(at + 1).toLowerCase();
  return s.schoolDomains.length === 0 || s.schoolDomains.some((d) => domain === d || domain.endsWith(`.${d}`));
}

export function holdNotices(s: NotifySettings, inc: Incident, now: Date, opts: { automatic: boolean; smtpReject: boolean }): NewOutboxRow[] {
  const rows: NewOutboxRow[] = [];
  const row = (template: OutboxTemplate, recipient: string, mode: 'immediate' | 'digest', due: Date): NewOutboxRow => ({
    job: 'notice', template, recipient, reference: inc.reference, tenant: inc.tenant, mode, due, messageIdHeader: messageIdFor(inc.reference, template, s.hostname),
  });
  const mode = notifyModeFor(s, inc.rules);
  if (s.businessManager && mode !== 'none') {
    rows.push(row('business-manager', s.businessManager, mode, mode === 'digest' ? nextDigestTime(s, now) : now));
  }
  if (s.safeguardingLead && inc.severity >= s.safeguardingMinSeverity && s.safeguardingLead.toLowerCase() !== s.businessManager?.toLowerCase()) {
    rows.push(row('safeguarding-lead', s.safeguardingLead, 'immediate', now));
  }
  // With block_mode: reject the sender's own server returns the 550 (with the reference) to them.
  if (!opts.smtpReject && senderMayBeTold(s, inc.sender, opts.automatic)) {
    rows.push(row(inc.action === 'quarantine' ? 'sender-held' : 'sender-not-sent', inc.sender, 'immediate', now));
  }
  return rows;
}

export function rejectNotices(s: NotifySettings, inc: Incident, now: Date): NewOutboxRow[] {
  if (inc.action !== 'quarantine' || !senderMayBeTold(s, inc.sender, false)) return [];
  return [{ job: 'notice', template: 'sender-rejected', recipient: inc.sender, reference: inc.reference, tenant: inc.tenant, mode: 'immediate', due: now, messageIdHeader: messageIdFor(inc.reference, 'sender-rejected', s.hostname) }];
}

export function escalationNotices(s: NotifySettings, inc: Incident, now: Date, actor: string): NewOutboxRow[] {
  const to = [s.businessManager, s.safeguardingLead && inc.severity >= s.safeguardingMinSeverity ? s.safeguardingLead : null]
    .filter((a): a is string => !!a)
    .filter((a, i, all) => all.findIndex((b) => b.toLowerCase() === a.toLowerCase()) === i);
  return to.map((recipient) => ({ job: 'notice' as const, template: 'business-manager-escalated', recipient, reference: inc.reference, tenant: inc.tenant, mode: 'immediate' as const, due: now, actor, messageIdHeader: messageIdFor(inc.reference, 'escalated', s.hostname) }));
}

/**
 * True when the message says it is automatic (Auto-Submitted other than "no"): Hallmonitor never
 * answers automatic mail, so two systems can never bounce notices back and forth. Reads the header
 * block byte by byte (no regular expression on message text).
 */
export function isAutoSubmitted(raw: Buffer): boolean {
  const value = headerValue(raw, 'auto-submitted');
  return value !== undefined && value.trim().toLowerCase() !== 'no' && value.trim() !== '';
}

export function headerValue(raw: Buffer, name: string): string | undefined {
  const want = Buffer.from(`${name.toLowerCase()}:`);
  let pos = 0;
  const limit = Math.min(raw.length, 1024 * 1024);
  while (pos < limit) {
    let end = raw.indexOf(0x0a, pos);
    if (end < 0) end = limit;
    const lineEnd = end > pos && raw[end - 1] === 0x0d ? end - 1 : end;
    if (lineEnd === pos) return undefined; // blank line: end of the header block
    if (lineEnd - pos >= want.length) {
      let match = true;
      for (let i = 0; i < want.length; i++) {
        const c = raw[pos + i];
        if ((c >= 0x41 && c <= 0x5a ? c + 0x20 : c) !== want[i]) { match = false; break; }
      }
      if (match) {
        let value = raw.toString('latin1', pos + want.length, lineEnd);
        // Folded continuation lines.
        let next = end + 1;
        while (next < limit && (raw[next] === 0x20 || raw[next] === 0x09)) {
          let e = raw.indexOf(0x0a, next);
          if (e < 0) e = limit;
          value += raw.toString('latin1', next, e > next && raw[e - 1] === 0x0d ? e - 1 : e);
          next = e + 1;
        }
        return value;
      }
    }
    pos = end + 1;
  }
  return undefined;
}
