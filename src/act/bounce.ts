// A delivery status notification (RFC 3464) for recipients the next hop refused permanently
// while it accepted the others. Once the school's server has heard 250 for the message,
// Hallmonitor owns telling the sender about the recipients it could not reach.
import { randomBytes } from 'node:crypto';
import type { RecipientRefusal } from './deliver.ts';
import type { Envelope } from '../types.ts';

const MAX_HEADERS = 64 * 1024;

export function composeBounce(opts: { hostname: string; envelope: Envelope; refused: RecipientRefusal[]; raw: Buffer; messageId: string; now?: Date }): Buffer {
  const now = opts.now ?? new Date();
  const boundary = `hm-${randomBytes(12).toString('hex')}`;
  const end = headerEnd(opts.raw);
  const headers = opts.raw.subarray(0, Math.min(end, MAX_HEADERS)).toString('utf8');
  const list = opts.refused.map((r) => `  <${r.address}>: ${oneLine(r.response)}`).join('\r\n');
  const perRecipient = opts.refused
    .map((r) => {
      const status = /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(r.response)?.[1] ?? '5.0.0';
      const orcpt = opts.envelope.rcptTo.find((x) => x.address === r.address)?.orcpt;
      return [
        ...(orcpt ? [`Original-Recipient: ${orcpt}`] : []),
        `Final-Recipient: rfc822;${r.address}`,
        'Action: failed',
        `Status: ${status}`,
        `Remote-MTA: dns;next-hop`,
        `Diagnostic-Code: smtp;${oneLine(r.response)}`,
      ].join('\r\n');
    })
    .join('\r\n\r\n');
  const text = [
    `From: Mail Delivery System <MAILER-DAEMON@${opts.hostname}>`,
    `To: <${opts.envelope.mailFrom}>`,
    `Subject: Undelivered Mail Returned to Sender`,
    `Date: ${now.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${now.getTime().toString(36)}.${randomBytes(6).toString('hex')}@${opts.hostname}>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    'Your message was delivered to some of its recipients, but the receiving mail system refused',
    'the ones below permanently. Check the addresses and send it to them again.',
    '',
    list,
    '',
    `(Hallmonitor reference ${opts.messageId})`,
    '',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    `Reporting-MTA: dns;${opts.hostname}`,
    ...(opts.envelope.mailFromParams.envid ? [`Original-Envelope-Id: ${opts.envelope.mailFromParams.envid}`] : []),
    `Arrival-Date: ${now.toUTCString().replace('GMT', '+0000')}`,
    '',
    perRecipient,
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    '',
    trimEol(headers),
    '',
    `--${boundary}--`,
    '',
  ].join('\r\n');
  return Buffer.from(text, 'utf8');
}

/**
 * The failure notice owed to the sender of a message the next hop refused for some recipients:
 * those who did not ask not to be told (wantsFailureNotice); none for a null sender or when
 * nobody is left to report.
 */
export function failureNotice(opts: { hostname: string; envelope: Envelope; refused: RecipientRefusal[]; raw: Buffer; messageId: string }): Buffer | undefined {
  const told = opts.refused.filter((r) => wantsFailureNotice(opts.envelope, r.address));
  return opts.envelope.mailFrom && told.length ? composeBounce({ ...opts, refused: told }) : undefined;
}

/** Which refused recipients asked not to be told (NOTIFY=NEVER, or NOTIFY without FAILURE). */
export function wantsFailureNotice(envelope: Envelope, address: string): boolean {
  const notify = envelope.rcptTo.find((r) => r.address === address)?.notify;
  return !notify || notify.includes('FAILURE');
}

function headerEnd(raw: Buffer): number {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  if (crlf < 0 && lf < 0) return raw.length;
  if (crlf < 0) return lf + 1;
  if (lf < 0) return crlf + 2;
  return Math.min(crlf + 2, lf + 1);
}

function oneLine(s: string): string {
  let out = '';
  for (const ch of s.slice(0, 500)) out += ch === '\r' || ch === '\n' ? ' ' : ch;
  return out;
}

function trimEol(s: string): string {
  let end = s.length;
  while (end > 0 && (s[end - 1] === '\n' || s[end - 1] === '\r')) end--;
  return s.slice(0, end);
}
