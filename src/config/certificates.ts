// The TLS certificates the gateway uses: the one it serves to the school's mail system
// (relay.tls) and the one it may present to the next hop (next_hop.client_certificate). An
// expired or mismatched certificate stops all mail (Microsoft 365 queues, then bounces), so the
// configuration refuses what cannot work and /metrics counts the days left.
import { X509Certificate, createPrivateKey } from 'node:crypto';

const FIRST_PEM = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/;

/** A certificate the gateway uses, read once: what it is for, the setting that names it, its expiry. */
export interface CertificateInUse {
  use: 'relay' | 'next_hop_client';
  setting: string;
  notAfter: Date;
}

/** The served certificate (relay.tls) and the one presented to the next hop, each parsed once. */
export function certificatesInUse(config: { relay: { tls?: { cert: string } }; nextHop: { clientCertificate?: { cert: string } } | null }): CertificateInUse[] {
  const out: CertificateInUse[] = [];
  const add = (use: CertificateInUse['use'], setting: string, pem: string | undefined) => {
    const first = pem ? FIRST_PEM.exec(pem)?.[0] : undefined;
    if (first) out.push({ use, setting, notAfter: new Date(new X509Certificate(first).validTo) });
  };
  add('relay', 'relay.tls', config.relay.tls?.cert);
  add('next_hop_client', 'next_hop.client_certificate', config.nextHop?.clientCertificate?.cert);
  return out;
}

/** Days until a certificate expires (negative once it has). */
export function daysLeft(c: CertificateInUse, now = Date.now()): number {
  return (c.notAfter.getTime() - now) / 86_400_000;
}

/** What start-up (and config-check) says of a certificate with under 14 days left. */
export function expiryWarnings(certs: CertificateInUse[], now = Date.now()): Array<{ cert: CertificateInUse; days: number; expired: boolean; text: string }> {
  return certs.flatMap((cert) => {
    const left = daysLeft(cert, now);
    if (left >= 14) return [];
    const when = left < 0 ? `expired ${Math.ceil(-left)} day(s) ago` : `expires in ${Math.floor(left)} day(s)`;
    return [{ cert, days: Math.floor(left), expired: left < 0, text: `the ${cert.setting} certificate ${when}: renew it (deploy/INSTALL.md, step 7)` }];
  });
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
