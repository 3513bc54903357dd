// The headers Hallmonitor adds, prepended, so the original bytes (and any DKIM signature over
// them) stay exactly as the school's server sent them: a standard Received trace line, and the
// loop guard (./checked.ts) when its secret is configured.
import type { ReceivedMessage } from '../types.ts';
import { checkedHeader } from './checked.ts';

/** What goes to the next hop for a relayed (or released) message, in order. */
export function relayedParts(message: ReceivedMessage, hostname: string, checkedSecret?: string): Buffer[] {
  const trace = traceHeader(message, hostname);
  return checkedSecret ? [trace, checkedHeader(message.raw, checkedSecret), message.raw] : [trace, message.raw];
}

export function traceHeader(message: ReceivedMessage, hostname: string): Buffer {
  const c = message.client;
  const proto = `ESMTP${c.tls ? 'S' : ''}${c.user ? 'A' : ''}`;
  const single = message.envelope.rcptTo.length === 1 ? `\r\n\tfor <${message.envelope.rcptTo[0].address}>` : '';
  // The client's HELO name, printable ASCII only (it is the client's word, not ours).
  let helo = '';
  for (const ch of c.helo || 'unknown') helo += ch >= '!' && ch <= '~' ? ch : '?';
  const line = `Received: from ${helo} (${c.hostname && !c.hostname.startsWith('[') ? `${c.hostname} ` : ''}[${c.address}])\r\n\tby ${hostname} (Hallmonitor) with ${proto} id ${message.id}${single};\r\n\t${rfc5322Date(message.receivedAt)}\r\n`;
  return Buffer.from(line, 'utf8');
}

function rfc5322Date(d: Date): string {
  return d.toUTCString().replace('GMT', '+0000');
}

/**
 * How many times this message has already passed through this gateway: its own trace lines in
 * the message's header block (a forwarded message inside it does not count). A mail flow rule
 * without its exception sends the message back again and again; the receiver refuses it once it
 * has been here twice, as Postfix refuses "Too many hops".
 */
export function passesThrough(raw: Buffer, hostname: string): number {
  let end = raw.indexOf('\r\n\r\n');
  if (end < 0) end = raw.indexOf('\n\n');
  const block = raw.subarray(0, end < 0 ? Math.min(raw.length, 1 << 20) : end);
  // Almost every message: none of our trace lines at all, found without decoding the header.
  if (block.indexOf('(Hallmonitor)') < 0) return 0;
  const head = block.toString('latin1');
  const ours = `by ${hostname.toLowerCase()} (hallmonitor) with `;
  let n = 0;
  // Unfold, then look at each Received field.
  for (const field of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    if (field.length > 9 && field.slice(0, 9).toLowerCase() === 'received:' && field.toLowerCase().replace(/\s+/g, ' ').includes(ours)) n++;
  }
  return n;
}
