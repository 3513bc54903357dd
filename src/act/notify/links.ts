// Links in notification emails that act on one incident: the business manager's "release" and
// "reject" (they open a confirmation page in the console, for her account only) and the sender's
// "send it anyway" (a page where the sender confirms with a written reason, no account needed).
//
// A link carries a signed token: what it is for, the incident, the person it was sent to, when
// it expires and a random nonce. The signature (HMAC-SHA256 with a key kept in the store, the
// same for every gateway instance) makes a token impossible to forge or alter; the nonce lets
// the store remember that a link has been used, so each works once. Opening a link never changes
// anything: only the confirmation form it leads to does, under the console's own rules.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type LinkPurpose = 'release' | 'reject' | 'override';

export interface LinkClaims {
  purpose: LinkPurpose;
  /** The incident's reference. */
  reference: string;
  /** The address the link was emailed to (lower case): the business manager's, or the sender's. */
  to: string;
  expiresAt: Date;
  /** Random; its hash is what the store records once the link is used. */
  nonce: string;
}

const PURPOSES: readonly LinkPurpose[] = ['release', 'reject', 'override'];

/** Tokens are base64url text and one dot: safe in a path segment, checked before anything else. */
export const TOKEN_SHAPE = /^[A-Za-z0-9_-]{20,600}\.[A-Za-z0-9_-]{43}$/;

export function signLink(key: Buffer, claims: Omit<LinkClaims, 'nonce'> & { nonce?: string }): string {
  const body = Buffer.from(JSON.stringify({
    p: claims.purpose,
    r: claims.reference,
    t: claims.to.toLowerCase(),
    x: Math.floor(claims.expiresAt.getTime() / 1000),
    n: claims.nonce ?? randomBytes(12).toString('base64url'),
  })).toString('base64url');
  return `${body}.${mac(key, body)}`;
}

export type LinkCheck =
  | { ok: true; claims: LinkClaims }
  | { ok: false; why: 'forged' | 'expired'; claims?: LinkClaims };

/** The token's claims when its signature is good and it has not expired. */
export function checkLink(key: Buffer, token: string, now: Date): LinkCheck {
  if (!TOKEN_SHAPE.test(token)) return { ok: false, why: 'forged' };
  const dot = token.indexOf('.');
  const body = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1));
  const expected = Buffer.from(mac(key, body));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, why: 'forged' };
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return { ok: false, why: 'forged' };
  }
  const { p, r, t, x, n } = doc;
  if (!PURPOSES.includes(p as LinkPurpose) || typeof r !== 'string' || typeof t !== 'string' || typeof x !== 'number' || typeof n !== 'string') return { ok: false, why: 'forged' };
  const claims: LinkClaims = { purpose: p as LinkPurpose, reference: r, to: t, expiresAt: new Date(x * 1000), nonce: n };
  if (claims.expiresAt <= now) return { ok: false, why: 'expired', claims };
  return { ok: true, claims };
}

/** What the store keeps of a used link: never the token itself. */
export function linkUseId(claims: LinkClaims): string {
  return createHash('sha256').update(`${claims.purpose}\0${claims.reference}\0${claims.nonce}`).digest('hex');
}

function mac(key: Buffer, body: string): string {
  return createHmac('sha256', key).update(`hallmonitor-link-v1\0${body}`).digest('base64url');
}
