// What Microsoft 365 and Google Workspace need from the gateway (issue 16): the loop-guard header
// X-Hallmonitor-Checked (stamped on delivered and released mail, an HMAC that verifies only with
// the secret, a forged one removed before inspection), the source address of connections to the
// next hop (next_hop.local_address), and DKIM signing at the gateway (notices; relayed mail with
// sign_relayed) that verifies with mailauth against the record `hallmonitor dkim-record` prints.
import { generateKeyPairSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { SMTPServer } from 'smtp-server';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKED_HEADER, checkedValue, stripChecked, verifyChecked } from '../src/act/checked.ts';
import { headerValue } from '../src/act/notify/plan.ts';
import type { Verdict } from '../src/types.ts';
import { validateConfig } from '../src/config/index.ts';
import { splitTrace, startSink, startTestGateway, type Sink } from './helpers/smtp.ts';
import { cli, createStorage, quarantineVerdict, schoolMessage, sendRaw, startHoldingGateway, TEACHER, OUTSIDER, waitFor, type HoldingGateway, type TestStorage } from './quarantine-helpers.ts';

const SECRET = 'a-loop-guard-secret-for-tests-0123456789';
const ROOT = path.resolve(import.meta.dirname, '..');

const deliver: Verdict = { action: 'deliver', rules: [], findings: [], severity: 0 };

function headerLines(data: Buffer, name: string): string[] {
  const head = data.subarray(0, data.indexOf('\r\n\r\n')).toString('latin1');
  return head.split('\r\n').filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
}

describe('the loop-guard header', () => {
  it('is an HMAC of the Message-ID that verifies with the secret only, and a forged one is stripped whole (folded lines too)', () => {
    const raw = Buffer.from('Message-ID: <abc@school.example>\r\nSubject: x\r\n\r\nbody\r\n');
    const v = checkedValue(raw, SECRET);
    expect(v).toMatch(/^v1 [A-Za-z0-9_-]{32}$/);
    expect(verifyChecked(v, raw, SECRET)).toBe(true);
    expect(verifyChecked(v, raw, 'another-secret-of-enough-length')).toBe(false);
    expect(verifyChecked(checkedValue(Buffer.from('Message-ID: <other@x>\r\n\r\n'), SECRET), raw, SECRET)).toBe(false);
    const forged = Buffer.from(`Subject: x\r\nX-Hallmonitor-Checked: v1 forged\r\n\tcontinued\r\nx-hallmonitor-checked:v1 again\r\nTo: a@b.example\r\n\r\nX-Hallmonitor-Checked: in the body stays\r\n`);
    expect(stripChecked(forged).toString()).toBe('Subject: x\r\nTo: a@b.example\r\n\r\nX-Hallmonitor-Checked: in the body stays\r\n');
    expect(stripChecked(raw)).toBe(raw); // untouched (the same Buffer) when there is none
  });

  describe('through the relay', () => {
    let sink: Sink;
    let gw: Awaited<ReturnType<typeof startTestGateway>>;
    const seen: Buffer[] = [];
    beforeAll(async () => {
      sink = await startSink();
      gw = await startTestGateway({
        nextHop: sink,
        relay: { checked_header_secret: SECRET },
        nextHopOptions: { local_address: '127.0.0.2' },
        inspector: async (m) => {
          seen.push(m.raw);
          return deliver;
        },
      });
    });
    afterAll(async () => {
      await gw?.stop();
      await sink?.close();
    });

    it('stamps delivered mail exactly once, with a value that verifies; a forged header never reaches inspection or the next hop', async () => {
      const raw = Buffer.from(`From: office@school.example\r\nTo: parent@home.example\r\n${CHECKED_HEADER}: v1 forgedforgedforgedforgedforged12\r\nMessage-ID: <loop-1@school.example>\r\nSubject: x\r\n\r\nhello\r\n`);
      const before = sink.messages.length;
      const r = await sendRaw(gw.port, 'office@school.example', ['parent@home.example'], raw);
      expect(r.code).toBe(250);
      const [m] = (await sink.waitForMessages(before + 1)).slice(before);
      const lines = headerLines(m.data, CHECKED_HEADER);
      expect(lines).toHaveLength(1);
      const stripped = stripChecked(raw);
      expect(verifyChecked(lines[0].slice(CHECKED_HEADER.length + 1), stripped, SECRET)).toBe(true);
      expect(m.data.toString('latin1')).not.toContain('forgedforged');
      expect(seen.at(-1)!.toString('latin1')).not.toContain('forgedforged');
      // Everything else as the school's server sent it: trace line, then our header, then its bytes.
      const { rest } = splitTrace(m.data);
      expect(rest.toString('latin1')).toBe(`${lines[0]}\r\n${stripped.toString('latin1')}`);
    });

    it('refuses a message that has already been through the gateway twice (a rule without its exception), and takes one that has been once', async () => {
      const trace = (n: number) => `Received: from mail.example (mail.example [127.0.0.1])\r\n\tby hallmonitor.test (Hallmonitor) with ESMTPS id HM-${n};\r\n\tSun, 6 Dec 2026 10:00:0${n} +0000\r\n`;
      const body = 'From: office@school.example\r\nSubject: round and round\r\n\r\nhello\r\n';
      const before = sink.messages.length;
      const twice = await sendRaw(gw.port, 'office@school.example', ['parent@home.example'], Buffer.from(trace(2) + trace(1) + body));
      expect(twice.code).toBe(554);
      expect(twice.response).toMatch(/5\.4\.6 Routing loop/);
      expect(gw.logs.some((l) => l.event === 'routing-loop' && l.passes === 2)).toBe(true);
      // another gateway's trace lines, or a forwarded message's, do not count
      const once = await sendRaw(gw.port, 'office@school.example', ['parent@home.example'], Buffer.from(trace(1) + trace(1).replace('hallmonitor.test', 'other-gateway.test') + body));
      expect(once.code).toBe(250);
      expect((await sink.waitForMessages(before + 1)).length).toBe(before + 1);
    });

    it('connects to the next hop from next_hop.local_address', async () => {
      const before = sink.messages.length;
      await sendRaw(gw.port, 'office@school.example', ['parent@home.example'], Buffer.from('Subject: y\r\n\r\nhi\r\n'));
      await sink.waitForMessages(before + 1);
      expect(sink.remoteAddresses.at(-1)).toBe('127.0.0.2');
    });
  });
});

describe('released mail carries the header too', () => {
  let sink: Sink;
  let storage: TestStorage;
  let gw: HoldingGateway;
  beforeAll(async () => {
    sink = await startSink();
    storage = await createStorage('sqlite');
    // The gateway shares the secret with the CLI, as one school's configuration does: a release the
    // CLI queues may be sent by the CLI or by the gateway's outbox worker, whichever claims it first
    // (on a busy machine the gateway did, and without the secret sent it unstamped).
    gw = await startHoldingGateway({ storage, sink, inspector: async () => quarantineVerdict(), relay: { checked_header_secret: SECRET } });
  });
  afterAll(async () => {
    await gw?.stop();
    await sink?.close();
    await storage?.cleanup();
  });

  it('a message released from quarantine is stamped once, and verifies', async () => {
    // The CLI's release delivers with the configuration's secret (here from the environment).
    const configFile = path.join(storage.dataDir, 'hallmonitor.yaml');
    writeFileSync(configFile, stringify({ data_dir: storage.dataDir, next_hop: { host: sink.host, port: sink.port, starttls: 'off', timeout_seconds: 5 }, health: { listen: null }, school: { business_manager: 'bm@oakfield.sch.uk', notifications_from: 'hm@oakfield.sch.uk' } }));
    const raw = schoolMessage({ extraHeaders: 'Message-ID: <release-me@oakfield.sch.uk>' });
    const held = await sendRaw(gw.port, TEACHER, [OUTSIDER], raw);
    const ref = /(HM-\d{4}-\d{6})/.exec(held.response)![1];
    const r = await cli(['quarantine', 'release', ref, '--reason', 'checked', '--as', 'Sarah Jones', '--config', configFile], { HALLMONITOR_CHECKED_HEADER_SECRET: SECRET });
    expect(r.status, r.stderr).toBe(0);
    const m = await waitFor('the released message', () => sink.messages.find((x) => x.rcptTo.includes(OUTSIDER)));
    const lines = headerLines(m.data, CHECKED_HEADER);
    expect(lines).toHaveLength(1);
    expect(verifyChecked(lines[0].slice(CHECKED_HEADER.length + 1), raw, SECRET)).toBe(true);
  });
});

describe('DKIM signing at the gateway', () => {
  let dir = '';
  let keyFile = '';
  let record = '';
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'hm-dkim-'));
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    keyFile = path.join(dir, 'dkim.pem');
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const configFile = path.join(dir, 'hallmonitor.yaml');
    writeFileSync(configFile, stringify({ data_dir: dir, dkim: { domain: 'oakfield.sch.uk', selector: 'hm2026', private_key: keyFile } }));
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/hallmonitor.js'), 'dkim-record', '--config', configFile], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^hm2026\._domainkey\.oakfield\.sch\.uk\. IN TXT "v=DKIM1; k=rsa; p=/);
    record = [...r.stdout.matchAll(/"([^"]*)"/g)].map((m) => m[1]).join('');
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const resolver = async (name: string, type: string) => {
    if (name === 'hm2026._domainkey.oakfield.sch.uk' && type === 'TXT') return [[record]];
    throw Object.assign(new Error(`no DNS in tests (${name} ${type})`), { code: 'ENOTFOUND' });
  };

  it("signs Hallmonitor's own notices, and (sign_relayed) the mail it delivers; both verify against the published record", async () => {
    const sink = await startSink();
    const storage = await createStorage('sqlite');
    const gw = await startHoldingGateway({
      storage, sink,
      inspector: async (m) => (headerValue(m.raw, 'x-test-verdict')?.trim() === 'deliver' ? deliver : quarantineVerdict()),
      dkim: { domain: 'oakfield.sch.uk', selector: 'hm2026', private_key: keyFile, sign_relayed: true },
    });
    try {
      const held = await sendRaw(gw.port, TEACHER, [OUTSIDER], schoolMessage());
      expect(held.code).toBe(250);
      const notice = await waitFor('the business manager’s notice', () => sink.messages.find((m) => m.mailFrom === '' || m.rcptTo.some((r) => r.startsWith('business'))));
      const n = await dkimVerify(notice.data, { resolver });
      expect(n.results[0].status.result).toBe('pass');
      expect(n.results[0].signingDomain).toBe('oakfield.sch.uk');
      const before = sink.messages.length;
      expect((await sendRaw(gw.port, TEACHER, [OUTSIDER], schoolMessage({ extraHeaders: 'X-Test-Verdict: deliver' }))).code).toBe(250);
      const [relayed] = (await sink.waitForMessages(before + 1)).slice(before);
      const v = await dkimVerify(relayed.data, { resolver });
      expect(v.results.some((x) => x.status.result === 'pass' && x.signingDomain === 'oakfield.sch.uk')).toBe(true);
    } finally {
      await gw.stop();
      await sink.close();
      await storage.cleanup();
    }
  }, 60_000);
});

// Microsoft 365's inbound connector recognises the gateway by the name on the certificate it
// presents (TlsSenderCertificateName): next_hop.client_certificate. A next hop that demands a
// certificate signed by its CA takes the mail only when the gateway presents one, and sees its name.
describe('a client certificate presented to the next hop', () => {
  let dir: string;
  let server: SMTPServer;
  let port: number;
  const seenNames: string[] = [];
  const received: string[] = [];
  const openssl = (args: string[]) => {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args[0]}: ${r.stderr}`);
  };
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'hm-client-cert-'));
    // A CA, the next hop's own certificate, and the gateway's (hallmonitor.school.test), as an IT
    // lead would make them for a trial; Let's Encrypt plays the CA in production.
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=Test CA', '-keyout', 'ca.key', '-out', 'ca.pem']);
    for (const [name, cn] of [['hop', 'localhost'], ['gateway', 'hallmonitor.school.test']]) {
      openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', `${name}.key`, '-out', `${name}.csr`]);
      writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=DNS:${cn}\n`);
      openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`]);
    }
    server = new SMTPServer({
      key: readFileSync(path.join(dir, 'hop.key')),
      cert: readFileSync(path.join(dir, 'hop.pem')),
      ca: readFileSync(path.join(dir, 'ca.pem')),
      requestCert: true,
      rejectUnauthorized: true,
      authOptional: true,
      logger: false,
      onSecure(socket, _session, cb) {
        const peer = (socket as TLSSocket).getPeerCertificate();
        seenNames.push(String(peer?.subject?.CN ?? '(none)'));
        cb();
      },
      onData(stream, _session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          received.push(Buffer.concat(chunks).toString('latin1'));
          cb();
        });
      },
    } as ConstructorParameters<typeof SMTPServer>[0]);
    server.on('error', () => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  const hopOptions = (extra: Record<string, unknown>) => ({ starttls: 'required', reject_unauthorized: false, ...extra });

  it('presents next_hop.client_certificate, and a next hop that requires one takes the mail and sees the gateway\'s name', async () => {
    const gw = await startTestGateway({
      nextHop: { host: '127.0.0.1', port },
      nextHopOptions: hopOptions({ client_certificate: { cert: path.join(dir, 'gateway.pem'), key: path.join(dir, 'gateway.key') } }),
    });
    try {
      const r = await sendRaw(gw.port, 'office@school.example', ['parent@home.example'], Buffer.from('Subject: with a certificate\r\n\r\nhello\r\n'));
      expect(r.code).toBe(250);
      expect(seenNames.at(-1)).toBe('hallmonitor.school.test');
      expect(received.at(-1)).toContain('Subject: with a certificate');
    } finally {
      await gw.stop();
    }
  });

  it('"relay" presents the certificate the gateway serves (relay.tls)', async () => {
    const gw = await startTestGateway({
      nextHop: { host: '127.0.0.1', port },
      relay: { tls: { cert: path.join(dir, 'gateway.pem'), key: path.join(dir, 'gateway.key') } },
      nextHopOptions: hopOptions({ client_certificate: 'relay' }),
    });
    try {
      const before = received.length;
      const r = await sendRaw(gw.port, 'office@school.example', ['parent@home.example'], Buffer.from('Subject: relay cert\r\n\r\nhello\r\n'));
      expect(r.code).toBe(250);
      expect(received.length).toBe(before + 1);
      expect(seenNames.at(-1)).toBe('hallmonitor.school.test');
    } finally {
      await gw.stop();
    }
  });

  it('without one, the next hop refuses the session and the school\'s server is told to retry (nothing is lost)', async () => {
    const gw = await startTestGateway({ nextHop: { host: '127.0.0.1', port }, nextHopOptions: hopOptions({}) });
    try {
      const before = received.length;
      const r = await sendRaw(gw.port, 'office@school.example', ['parent@home.example'], Buffer.from('Subject: no certificate\r\n\r\nhello\r\n'));
      expect(r.code).toBeGreaterThanOrEqual(400);
      expect(r.code).toBeLessThan(500);
      expect(received.length).toBe(before);
    } finally {
      await gw.stop();
    }
  });

  it('the configuration refuses a key that does not belong to the certificate, and "relay" without relay.tls', () => {
    const doc = (clientCertificate: unknown, relay: Record<string, unknown> = {}) => ({
      listen: '127.0.0.1:0', data_dir: dir, next_hop: { host: '127.0.0.1', port, client_certificate: clientCertificate }, relay,
    });
    expect(() => validateConfig(doc({ cert: path.join(dir, 'gateway.pem'), key: path.join(dir, 'hop.key') }), 't', {}, {}, dir))
      .toThrow(/next_hop\.client_certificate: the key does not belong to the certificate/);
    expect(() => validateConfig(doc('relay'), 't', {}, {}, dir)).toThrow(/next_hop\.client_certificate: "relay" uses relay\.tls, which is not set/);
    expect(() => validateConfig(doc(null, { tls: { cert: path.join(dir, 'ca.key'), key: path.join(dir, 'gateway.key') } }), 't', {}, {}, dir))
      .toThrow(/relay\.tls: the certificate file holds no PEM certificate/);
  });

  it('counts the days left on each certificate in /metrics', async () => {
    const gw = await startTestGateway({
      nextHop: { host: '127.0.0.1', port },
      relay: { tls: { cert: path.join(dir, 'gateway.pem'), key: path.join(dir, 'gateway.key') } },
      nextHopOptions: hopOptions({ client_certificate: 'relay' }),
    });
    try {
      const text = await gw.gateway.metrics.render();
      const days = [...text.matchAll(/^hallmonitor_tls_certificate_expiry_days\{certificate="(relay|next_hop_client)"\} ([\d.]+)$/gm)];
      expect(days.map((m) => m[1]).sort()).toEqual(['next_hop_client', 'relay']);
      // made with -days 2: between one and two days left
      for (const m of days) expect(Number(m[2])).toBeGreaterThan(1);
      for (const m of days) expect(Number(m[2])).toBeLessThanOrEqual(2);
      // and a certificate with under 14 days left is said at start-up
      expect(gw.logs.some((l) => l.event === 'certificate-expiry' && l.certificate === 'relay' && l.daysLeft === 1)).toBe(true);
    } finally {
      await gw.stop();
    }
  });
});
