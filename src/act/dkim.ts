// DKIM signing at the gateway (`dkim:` in the configuration): Hallmonitor's own notices (so a
// platform with a strict DMARC policy does not junk them), and, with `sign_relayed`, the mail it
// delivers to the internet itself (Google Workspace's outbound gateway path, where Google does not
// sign it). nodemailer's signer; the DNS record to publish comes from `hallmonitor dkim-record`.
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import DKIM from 'nodemailer/lib/dkim';

export interface DkimSettings {
  domain: string;
  selector: string;
  /** PEM. */
  privateKey: string;
  /** Also sign the mail the gateway relays (not only its own notices). */
  signRelayed: boolean;
}

/** The message signed: a DKIM-Signature header prepended to the given parts. */
export async function dkimSign(parts: Buffer[], s: DkimSettings): Promise<Buffer> {
  const signer = new DKIM({ domainName: s.domain, keySelector: s.selector, privateKey: s.privateKey });
  const stream = signer.sign(parts.length === 1 ? parts[0] : Buffer.concat(parts));
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The TXT record to publish for the key: `selector._domainkey.domain. IN TXT "v=DKIM1; k=…; p=…"`. */
export function dkimRecord(s: Pick<DkimSettings, 'domain' | 'selector' | 'privateKey'>): { name: string; value: string } {
  const key: KeyObject = createPublicKey(createPrivateKey(s.privateKey));
  const type = key.asymmetricKeyType === 'ed25519' ? 'ed25519' : 'rsa';
  const der = key.export({ type: 'spki', format: 'der' });
  // An ed25519 record holds the raw 32-byte key (RFC 8463), an RSA one the whole SubjectPublicKeyInfo.
  const p = (type === 'ed25519' ? der.subarray(der.length - 32) : der).toString('base64');
  return { name: `${s.selector}._domainkey.${s.domain}`, value: `v=DKIM1; k=${type}; p=${p}` };
}
