// The loop guard: every message Hallmonitor relays (delivered, or released from quarantine)
// carries `X-Hallmonitor-Checked`, prepended like the trace line, so the school's platform can send
// mail that has been checked straight on and everything else through the gateway (Microsoft's
// add-on pattern: a transport rule excepts on the header, a second one strips it from mail that
// did not come back through the connector). Its value is an HMAC of the message's Message-ID (or,
// without one, of its bytes) under `relay.checked_header_secret`, so a sender who has seen one
// cannot make another; the same header arriving from outside is removed before inspection.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const CHECKED_HEADER = 'X-Hallmonitor-Checked';
const LOWER = CHECKED_HEADER.toLowerCase();

/** The Message-ID of a raw message (its header block only), or '' when it has none. */
function messageIdOf(raw: Buffer): string {
  const head = headerBlock(raw).toString('latin1');
  let pos = 0;
  while (pos < head.length) {
    let end = head.indexOf('\n', pos);
    if (end < 0) end = head.length;
    if (head.slice(pos, pos + 11).toLowerCase() === 'message-id:') {
      let value = head.slice(pos + 11, end);
      while (end + 1 < head.length && (head[end + 1] === ' ' || head[end + 1] === '\t')) {
        const next = head.indexOf('\n', end + 1);
        value += head.slice(end + 1, next < 0 ? head.length : next);
        end = next < 0 ? head.length : next;
      }
      return value.trim();
    }
    pos = end + 1;
  }
  return '';
}

function headerBlock(raw: Buffer): Buffer {
  let end = raw.indexOf('\r\n\r\n');
  if (end < 0) end = raw.indexOf('\n\n');
  return raw.subarray(0, end < 0 ? Math.min(raw.length, 1 << 20) : end + 2);
}

/** The header's value for a message: "v1 " and 32 characters of base64url HMAC-SHA256. */
export function checkedValue(raw: Buffer, secret: string): string {
  const id = messageIdOf(raw);
  const subject = id ? `id:${id}` : `sha256:${createHash('sha256').update(raw).digest('hex')}`;
  return `v1 ${createHmac('sha256', secret).update(subject).digest('base64url').slice(0, 32)}`;
}

/** The header line to prepend. */
export function checkedHeader(raw: Buffer, secret: string): Buffer {
  return Buffer.from(`${CHECKED_HEADER}: ${checkedValue(raw, secret)}\r\n`, 'latin1');
}

/** Does this value belong to this message under this secret? */
export function verifyChecked(value: string, raw: Buffer, secret: string): boolean {
  const want = Buffer.from(checkedValue(raw, secret));
  const got = Buffer.from(value.trim());
  return want.length === got.length && timingSafeEqual(want, got);
}

/**
 * The message without any X-Hallmonitor-Checked header (folded lines included): a sender must not
 * be able to bring one in. The same Buffer when there is none (the common case: no copy).
 */
export function stripChecked(raw: Buffer): Buffer {
  const head = headerBlock(raw);
  const text = head.toString('latin1');
  if (!text.toLowerCase().includes(LOWER)) return raw;
  const kept: Buffer[] = [];
  let pos = 0;
  let dropping = false;
  while (pos < head.length) {
    let end = head.indexOf(0x0a, pos);
    end = end < 0 ? head.length : end + 1;
    const line = text.slice(pos, end);
    const continuation = line.startsWith(' ') || line.startsWith('\t');
    if (!continuation) dropping = line.slice(0, LOWER.length + 1).toLowerCase() === `${LOWER}:`;
    if (!dropping) kept.push(head.subarray(pos, end));
    pos = end;
  }
  kept.push(raw.subarray(head.length));
  return Buffer.concat(kept);
}
