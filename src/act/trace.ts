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
