// The TLS certificates the gateway uses: the one it serves to the school's mail system
// (relay.tls) and the one it may present to the next hop (next_hop.client_certificate). An
// expired or mismatched certificate stops all mail (Microsoft 365 queues, then bounces), so the
// configuration refuses what cannot work and /metrics counts the days left.
import { X509Certificate, createPrivateKey } from 'node:crypto';

export interface CertificateFacts {
  /** The first certificate in the file (the server's own, before any chain). */
  subject: string;
  names: string[];
  notAfter: Date;
}

const FIRST_PEM = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/;

export function certificateFacts(pem: string): CertificateFacts {
  const first = FIRST_PEM.exec(pem)?.[0];
  if (!first) throw new Error('no PEM certificate in the file');
  const x = new X509Certificate(first);
  const names = (x.subjectAltName ?? '').split(/,\s*/).flatMap((n) => (n.startsWith('DNS:') ? [n.slice(4)] : []));
  return { subject: x.subject.replace(/\n/g, ', '), names, notAfter: new Date(x.validTo) };
}

/** What is wrong with a certificate and key pair, in words for the configuration's error list. */
// An expired certificate is not refused here: a gateway that will not start is no better than one
// whose certificate a strict client refuses, and Postfix's opportunistic TLS still takes it. It is
// logged at start-up and counted in /metrics instead.
export function certificateProblem(cert: string, key: string): string | undefined {
  let x: X509Certificate;
  try {
    const first = FIRST_PEM.exec(cert)?.[0];
    if (!first) return 'the certificate file holds no PEM certificate (-----BEGIN CERTIFICATE-----)';
    x = new X509Certificate(first);
  } catch (err) {
    return `the certificate cannot be read (${(err as Error).message})`;
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    return `the key cannot be read (${(err as Error).message}); it must be an unencrypted PEM private key`;
  }
  if (!x.checkPrivateKey(privateKey)) return 'the key does not belong to the certificate (a renewal copied one file and not the other?)';
  return undefined;
}

/** Whole days until the certificate expires (negative once it has). */
export function daysLeft(pem: string, now = Date.now()): number {
  return (certificateFacts(pem).notAfter.getTime() - now) / 86_400_000;
}
