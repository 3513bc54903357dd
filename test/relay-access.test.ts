// Who may relay, and what the gateway promises in EHLO: no open relay (5.7.1 for strangers),
// AUTH only over STARTTLS, SIZE advertised and enforced, the extensions the school's server relies
// on, PROXY protocol only from the load balancer, and the early-talker check kept for strangers.
// 127.0.0.1 is the school's allow-listed server; 127.0.0.2 is a stranger (all of 127/8 is
// loopback on Linux); 127.0.0.3 is the load balancer.
import { execFileSync } from 'node:child_process';
import tls from 'node:tls';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { RawSmtp, splitTrace, startSink, startTestGateway, type Sink, type TestGateway } from './helpers/smtp.ts';

const SCHOOL = '127.0.0.1';
const STRANGER = '127.0.0.2';
const BALANCER = '127.0.0.3';
const PASSWORD = 'correct horse battery staple';

let certDir: string;
let sink: Sink;

beforeAll(async () => {
  // A real certificate for STARTTLS, made with openssl like an IT lead would.
  certDir = mkdtempSync(path.join(tmpdir(), 'hm-relay-tls-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
    '-keyout', path.join(certDir, 'key.pem'), '-out', path.join(certDir, 'cert.pem'),
    '-subj', '/CN=hallmonitor.test', '-addext', 'subjectAltName=DNS:hallmonitor.test,IP:127.0.0.1',
  ], { stdio: 'pipe' });
  sink = await startSink();
});
afterAll(async () => {
  await sink?.close();
  if (certDir) rmSync(certDir, { recursive: true, force: true });
});

async function greeted(port: number, localAddress: string): Promise<RawSmtp> {
  const s = await RawSmtp.connect(port, { localAddress });
  const hello = await s.read();
  expect(hello.code).toBe(220);
  return s;
}

describe('open relay and AUTH', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      nextHop: sink,
      relay: {
        allow_networks: [`${SCHOOL}/32`],
        users: [{ username: 'school-mx', password: PASSWORD }],
        tls: { cert: path.join(certDir, 'cert.pem'), key: path.join(certDir, 'key.pem') },
      },
    });
  });
  afterAll(() => gw?.stop());

  it('a client outside the allow-list gets 5.7.1 for every recipient and cannot send DATA', async () => {
    const before = sink.messages.length;
    const s = await greeted(gw.port, STRANGER);
    await s.command('EHLO spammer.example');
    expect((await s.command('MAIL FROM:<a@spam.example>')).code).toBe(250);
    for (const rcpt of ['victim@elsewhere.example', 'postmaster@school.example', 'head@school.example']) {
      const r = await s.command(`RCPT TO:<${rcpt}>`);
      expect(r.code).toBe(550);
      expect(r.text).toMatch(/^550 5\.7\.1 Relay access denied/);
    }
    expect((await s.command('DATA')).code).toBe(503);
    s.close();
    expect(sink.messages.length).toBe(before);
    expect(gw.logs.some((l) => l.event === 'relay-denied' && l.client === STRANGER)).toBe(true);
  });

  it('AUTH without TLS is refused, and the client stays unable to relay', async () => {
    const s = await greeted(gw.port, STRANGER);
    await s.command('EHLO mx.school.example');
    const auth = await s.command(`AUTH PLAIN ${Buffer.from(`\0school-mx\0${PASSWORD}`).toString('base64')}`);
    expect(auth.code).toBe(538);
    expect(auth.text).toMatch(/STARTTLS/);
    await s.command('MAIL FROM:<office@school.example>');
    expect((await s.command('RCPT TO:<parent@home.example>')).code).toBe(550);
    s.close();
  });

  it('AUTH over STARTTLS with the right password relays (trace says ESMTPSA)', async () => {
    const before = sink.messages.length;
    const t = nodemailer.createTransport({
      host: '127.0.0.1', port: gw.port, secure: false, requireTLS: true, localAddress: STRANGER,
      tls: { ca: readFileSync(path.join(certDir, 'cert.pem')), servername: 'hallmonitor.test' },
      auth: { user: 'school-mx', pass: PASSWORD },
    } as never);
    const raw = Buffer.from('From: office@school.example\r\nTo: parent@home.example\r\nSubject: x\r\n\r\nhello\r\n');
    const info = await t.sendMail({ envelope: { from: 'office@school.example', to: ['parent@home.example'] }, raw });
    t.close();
    expect(info.response).toMatch(/^250 /);
    const [m] = (await sink.waitForMessages(before + 1)).slice(before);
    const { trace, rest } = splitTrace(m.data);
    expect(trace).toMatch(/\[127\.0\.0\.2\]\)\r\n\tby hallmonitor\.test \(Hallmonitor\) with ESMTPSA id /);
    expect(Buffer.compare(rest, raw)).toBe(0);
  });

  it('AUTH over STARTTLS with a wrong password is refused with 535', async () => {
    const t = nodemailer.createTransport({
      host: '127.0.0.1', port: gw.port, secure: false, requireTLS: true, localAddress: STRANGER,
      tls: { ca: readFileSync(path.join(certDir, 'cert.pem')), servername: 'hallmonitor.test' },
      auth: { user: 'school-mx', pass: 'wrong password entirely' },
    } as never);
    const err = (await t.verify().then(() => undefined, (e: unknown) => e)) as { responseCode?: number } | undefined;
    t.close();
    expect(err?.responseCode).toBe(535);
    expect(gw.logText()).not.toContain('wrong password');
  });

  it('EHLO advertises STARTTLS before TLS and AUTH only after it: a client never sends its password in clear', async () => {
    const s = await greeted(gw.port, STRANGER);
    const ehlo = await s.command('EHLO mx.school.example');
    expect(ehlo.lines).toContain('250-STARTTLS');
    expect(ehlo.text).not.toMatch(/AUTH/);
    expect((await s.command('STARTTLS')).code).toBe(220);
    // The same connection, upgraded: EHLO again now offers AUTH.
    const secure = tls.connect({ socket: s.socket, servername: 'hallmonitor.test', ca: readFileSync(path.join(certDir, 'cert.pem')) });
    await new Promise<void>((resolve, reject) => secure.once('secureConnect', () => resolve()).once('error', reject));
    let text = '';
    secure.on('data', (d: Buffer) => (text += d.toString('latin1')));
    secure.write('EHLO mx.school.example\r\n');
    const until = Date.now() + 10_000;
    while (!/^250 /m.test(text) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(text).toMatch(/^250-AUTH PLAIN LOGIN\r?$/m);
    expect(text).not.toMatch(/STARTTLS/);
    secure.destroy();
  });

  it('the allow-listed school server relays without AUTH', async () => {
    const before = sink.messages.length;
    const s = await greeted(gw.port, SCHOOL);
    await s.command('EHLO mx.school.example');
    await s.command('MAIL FROM:<office@school.example>');
    expect((await s.command('RCPT TO:<parent@home.example>')).code).toBe(250);
    expect((await s.command('DATA')).code).toBe(354);
    s.write('Subject: ok\r\n\r\nhi\r\n.\r\n');
    expect((await s.read()).code).toBe(250);
    s.close();
    await sink.waitForMessages(before + 1);
  });
});

describe('EHLO extensions and SIZE', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ nextHop: sink, relay: { max_message_bytes: 100_000 } });
  });
  afterAll(() => gw?.stop());

  it('advertises PIPELINING, 8BITMIME, SMTPUTF8, DSN and SIZE with the configured limit', async () => {
    const s = await greeted(gw.port, SCHOOL);
    const ehlo = await s.command('EHLO mx.school.example');
    const keywords = ehlo.lines.map((l) => l.slice(4));
    expect(keywords).toEqual(expect.arrayContaining(['PIPELINING', '8BITMIME', 'SMTPUTF8', 'DSN', 'SIZE 100000']));
    // Without a certificate there is no STARTTLS and no AUTH to offer.
    expect(keywords.some((k) => k.startsWith('STARTTLS') || k.startsWith('AUTH'))).toBe(false);
    s.close();
  });

  it('PIPELINING works: a whole transaction in one write gets every reply in order', async () => {
    const before = sink.messages.length;
    const s = await greeted(gw.port, SCHOOL);
    await s.command('EHLO mx.school.example');
    s.write('MAIL FROM:<office@school.example>\r\nRCPT TO:<a@home.example>\r\nRCPT TO:<b@home.example>\r\nDATA\r\n');
    expect((await s.read()).code).toBe(250);
    expect((await s.read()).code).toBe(250);
    expect((await s.read()).code).toBe(250);
    expect((await s.read()).code).toBe(354);
    s.write('Subject: pipelined\r\n\r\nhi\r\n.\r\nQUIT\r\n');
    expect((await s.read()).code).toBe(250);
    expect((await s.read()).code).toBe(221);
    const [m] = (await sink.waitForMessages(before + 1)).slice(before);
    expect(m.rcptTo).toEqual(['a@home.example', 'b@home.example']);
  });

  it('refuses a declared SIZE over the limit at MAIL FROM', async () => {
    const s = await greeted(gw.port, SCHOOL);
    await s.command('EHLO mx.school.example');
    const r = await s.command('MAIL FROM:<office@school.example> SIZE=100001');
    expect(r.code).toBe(552);
    s.close();
  });

  it('refuses an undeclared over-size message after DATA with 552, and the next hop never sees it', async () => {
    const before = sink.messages.length;
    const started = sink.dataStarted;
    const s = await greeted(gw.port, SCHOOL);
    await s.command('EHLO mx.school.example');
    await s.command('MAIL FROM:<office@school.example>');
    await s.command('RCPT TO:<a@home.example>');
    expect((await s.command('DATA')).code).toBe(354);
    s.write(`Subject: big\r\n\r\n${'x'.repeat(76)}\r\n`.repeat(1500) + '.\r\n');
    const r = await s.read();
    expect(r.code).toBe(552);
    // The session is still usable for a message that fits.
    await s.command('MAIL FROM:<office@school.example>');
    await s.command('RCPT TO:<a@home.example>');
    expect((await s.command('DATA')).code).toBe(354);
    s.write('Subject: small\r\n\r\nhi\r\n.\r\n');
    expect((await s.read()).code).toBe(250);
    s.close();
    await sink.waitForMessages(before + 1);
    expect(sink.messages.length).toBe(before + 1);
    expect(sink.dataStarted).toBe(started + 1);
  });
});

describe('early talkers', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    // A longer pause than the default 100 ms, so a busy machine cannot let the pause run out
    // before the test's early bytes are read.
    gw = await startTestGateway({ nextHop: sink, relay: { allow_networks: [`${SCHOOL}/32`], untrusted_greeting_delay_ms: 500 } });
  });
  afterAll(() => gw?.stop());

  it('a stranger that talks before the greeting gets 421 and is disconnected', async () => {
    const s = await RawSmtp.connect(gw.port, { localAddress: STRANGER });
    s.write('EHLO bot.example\r\n');
    const r = await s.read();
    expect(r.code).toBe(421);
    expect(r.text).toMatch(/talk too soon/);
    await s.waitClosed();
  });

  it('a stranger that waits is greeted after the pause', async () => {
    const t0 = performance.now();
    const s = await RawSmtp.connect(gw.port, { localAddress: STRANGER });
    expect((await s.read()).code).toBe(220);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(495);
    s.close();
  });

  it('the allow-listed school server is greeted at once: talking first is not an offence', async () => {
    const s = await RawSmtp.connect(gw.port, { localAddress: SCHOOL });
    s.write('EHLO mx.school.example\r\n');
    expect((await s.read()).code).toBe(220);
    expect((await s.read()).code).toBe(250);
    s.close();
  });
});

describe('PROXY protocol', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      nextHop: sink,
      relay: { allow_networks: [`${SCHOOL}/32`, '192.0.2.0/24'], proxy_protocol_from: [`${BALANCER}/32`], untrusted_greeting_delay_ms: 500 },
    });
  });
  afterAll(() => gw?.stop());

  async function relayVia(s: RawSmtp): Promise<number> {
    await s.command('EHLO mx.school.example');
    await s.command('MAIL FROM:<office@school.example>');
    const rcpt = await s.command('RCPT TO:<parent@home.example>');
    if (rcpt.code !== 250) return rcpt.code;
    expect((await s.command('DATA')).code).toBe(354);
    s.write('Subject: via\r\n\r\nhi\r\n.\r\n');
    return (await s.read()).code;
  }

  it('from the load balancer, the PROXY header sets the client address (allowed network → relays)', async () => {
    const before = sink.messages.length;
    const s = await RawSmtp.connect(gw.port, { localAddress: BALANCER });
    s.write('PROXY TCP4 192.0.2.10 127.0.0.1 40000 25\r\n');
    expect((await s.read()).code).toBe(220);
    expect(await relayVia(s)).toBe(250);
    s.close();
    const [m] = (await sink.waitForMessages(before + 1)).slice(before);
    expect(splitTrace(m.data).trace).toMatch(/\(\[192\.0\.2\.10\]\)/);
  });

  it('from the load balancer, a proxied stranger is a stranger: 5.7.1', async () => {
    const s = await RawSmtp.connect(gw.port, { localAddress: BALANCER });
    s.write('PROXY TCP4 198.51.100.7 127.0.0.1 40000 25\r\n');
    expect((await s.read()).code).toBe(220);
    expect(await relayVia(s)).toBe(550);
    s.close();
  });

  it('the load balancer must send the header: a plain SMTP session from it is refused', async () => {
    const s = await RawSmtp.connect(gw.port, { localAddress: BALANCER });
    s.write('EHLO mx.school.example\r\n');
    await s.waitClosed();
    s.close();
  });

  it('a PROXY header from anyone else is refused and does not change the client address', async () => {
    // A stranger sending it first is an early talker.
    const early = await RawSmtp.connect(gw.port, { localAddress: STRANGER });
    early.write('PROXY TCP4 192.0.2.10 127.0.0.1 40000 25\r\n');
    expect((await early.read()).code).toBe(421);
    early.close();
    // A stranger sending it after the greeting gets a 5xx, and is still a stranger.
    const late = await greeted(gw.port, STRANGER);
    expect((await late.command('PROXY TCP4 192.0.2.10 127.0.0.1 40000 25')).code).toBeGreaterThanOrEqual(500);
    expect(await relayVia(late)).toBe(550);
    late.close();
    // The school's own server sending it does not become 192.0.2.10 either.
    const before = sink.messages.length;
    const school = await greeted(gw.port, SCHOOL);
    expect((await school.command('PROXY TCP4 192.0.2.10 127.0.0.1 40000 25')).code).toBeGreaterThanOrEqual(500);
    expect(await relayVia(school)).toBe(250);
    school.close();
    const [m] = (await sink.waitForMessages(before + 1)).slice(before);
    expect(splitTrace(m.data).trace).toMatch(/\(\[127\.0\.0\.1\]\)/);
  });
});

describe('AUTH throttling (issue 15: a guessing client stalls, the school’s server is never locked out)', () => {
  let gw: TestGateway;
  const GUESSER = '127.0.0.4';
  beforeAll(async () => {
    gw = await startTestGateway({
      nextHop: sink,
      relay: {
        allow_networks: [`${SCHOOL}/32`],
        users: [{ username: 'school-mx', password: PASSWORD }],
        tls: { cert: path.join(certDir, 'cert.pem'), key: path.join(certDir, 'key.pem') },
        auth_max_failures: 4,
        auth_lockout_seconds: 3,
        auth_failure_delay_ms: 100,
      },
    });
  });
  afterAll(() => gw?.stop());

  /** One AUTH attempt on a fresh connection: its reply code and how long it took. */
  async function attempt(localAddress: string, pass: string): Promise<{ code?: number; ms: number }> {
    const t = nodemailer.createTransport({
      host: '127.0.0.1', port: gw.port, secure: false, requireTLS: true, localAddress,
      tls: { ca: readFileSync(path.join(certDir, 'cert.pem')), servername: 'hallmonitor.test' },
      auth: { user: 'school-mx', pass },
    } as never);
    const started = Date.now();
    const err = (await t.verify().then(() => undefined, (e: unknown) => e)) as { responseCode?: number } | undefined;
    t.close();
    return { code: err ? err.responseCode ?? -1 : 235, ms: Date.now() - started };
  }

  it('wrong passwords are answered later and later, then the address and the user name are locked out, even for the right password; the lock-out ends', async () => {
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await attempt(GUESSER, `wrong guess ${i}`);
      expect(r.code).toBe(535);
      times.push(r.ms);
    }
    expect(times[3] - times[0]).toBeGreaterThanOrEqual(500); // 100, 200, 400, 800 ms
    expect((await attempt(GUESSER, PASSWORD)).code).toBe(454); // locked out: the right password too
    expect((await attempt(STRANGER, PASSWORD)).code).toBe(454); // the user name is locked out from anywhere …
    expect((await attempt(SCHOOL, PASSWORD)).code).toBe(235); // … except the school's own server
    const metrics = await gw.gateway.metrics.render();
    expect(metrics).toMatch(/^hallmonitor_auth_failures_total\{reason="auth_failed"\} 4$/m);
    expect(metrics).toMatch(/^hallmonitor_auth_lockouts_total 1$/m);
    expect(gw.logs.some((l) => l.event === 'auth-locked-out')).toBe(true);
    await new Promise((r) => setTimeout(r, 3_200));
    expect((await attempt(GUESSER, PASSWORD)).code).toBe(235); // the window is over
  }, 30_000);

  it('a session that keeps guessing is disconnected after three wrong passwords', async () => {
    const s = await RawSmtp.connect(gw.port, { localAddress: '127.0.0.5' });
    await s.read();
    await s.command('EHLO guesser.example');
    expect((await s.command('STARTTLS')).code).toBe(220);
    const secure = tls.connect({ socket: s.socket, servername: 'hallmonitor.test', ca: readFileSync(path.join(certDir, 'cert.pem')) });
    await new Promise<void>((resolve, reject) => secure.once('secureConnect', () => resolve()).once('error', reject));
    let text = '';
    let closed = false;
    secure.on('data', (d: Buffer) => (text += d.toString('latin1')));
    secure.on('close', () => (closed = true));
    secure.on('error', () => undefined);
    secure.write('EHLO guesser.example\r\n');
    for (let i = 0; i < 5 && !closed; i++) {
      secure.write(`AUTH PLAIN ${Buffer.from(`\0school-mx\0guess ${i}`).toString('base64')}\r\n`);
      const until = Date.now() + 10_000;
      const seen = (text.match(/^535 /gm) ?? []).length;
      while ((text.match(/^535 /gm) ?? []).length === seen && !closed && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    }
    const until = Date.now() + 5_000;
    while (!closed && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect((text.match(/^535 /gm) ?? []).length).toBe(3);
    expect(text).toMatch(/^421 4\.7\.0 .*Too many failed attempts/m);
    expect(closed).toBe(true);
  }, 30_000);
});

describe('connection slots (issue 15: a hostile neighbour cannot lock the school’s server out)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      nextHop: sink,
      relay: {
        allow_networks: [`${SCHOOL}/32`],
        max_clients: 30,
        reserved_for_allowed: 6,
        max_connections_per_client: 20,
        untrusted_session_seconds: 2,
        untrusted_greeting_delay_ms: 0,
      },
    });
  });
  afterAll(() => gw?.stop());

  async function open(localAddress: string, n: number): Promise<{ greeted: RawSmtp[]; refused: number }> {
    const greeted: RawSmtp[] = [];
    let refused = 0;
    await Promise.all(Array.from({ length: n }, async () => {
      const s = await RawSmtp.connect(gw.port, { localAddress });
      const r = await s.read().catch(() => ({ code: 0, text: '' }));
      if (r.code === 220) greeted.push(s);
      else {
        expect(r.code).toBe(421);
        refused++;
        s.close();
      }
    }));
    return { greeted, refused };
  }

  it('a flood from one outside address takes at most its share: its own limit, then the outsiders’ share; the school’s server still gets in', async () => {
    const flood = await open('127.0.0.2', 22);
    expect(flood.greeted).toHaveLength(20); // max_connections_per_client
    expect(flood.refused).toBe(2);
    const more = await open('127.0.0.6', 10);
    expect(flood.greeted.length + more.greeted.length).toBe(24); // 30 slots, 6 of them reserved
    // The school's own server is greeted, and relays, with every outsider slot taken.
    const before = sink.messages.length;
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: gw.port, secure: false, ignoreTLS: true, localAddress: SCHOOL } as never);
    const info = await t.sendMail({ envelope: { from: 'office@school.example', to: ['parent@home.example'] }, raw: Buffer.from('Subject: x\r\n\r\nhello\r\n') });
    t.close();
    expect(info.response).toMatch(/^250 /);
    await sink.waitForMessages(before + 1);
    for (const s of [...flood.greeted, ...more.greeted]) s.close();
  });

  it('an outside address opening connection after connection is held to max_connections_per_minute; the school’s server is not', async () => {
    const gw = await startTestGateway({ nextHop: sink, relay: { allow_networks: [`${SCHOOL}/32`], max_connections_per_minute: 5, untrusted_greeting_delay_ms: 0 } });
    let greeted = 0;
    let refused = 0;
    for (let i = 0; i < 8; i++) {
      const s = await RawSmtp.connect(gw.port, { localAddress: '127.0.0.8' });
      const r = await s.read().catch(() => ({ code: 0 }));
      if (r.code === 220) greeted++;
      else if (r.code === 421) refused++;
      s.close();
    }
    expect(greeted).toBe(5);
    expect(refused).toBe(3);
    for (let i = 0; i < 8; i++) {
      const s = await RawSmtp.connect(gw.port, { localAddress: SCHOOL });
      expect((await s.read()).code).toBe(220);
      s.close();
    }
    await gw.stop();
  });

  it('a stranger that trickles a byte at a time is closed after untrusted_session_seconds; the school’s server is not', async () => {
    // The previous test's connections are being closed: retry until the slots are free again.
    let stranger = await RawSmtp.connect(gw.port, { localAddress: '127.0.0.7' });
    for (let tries = 0; (await stranger.read().then((r) => r.code, () => 0)) !== 220; tries++) {
      expect(tries).toBeLessThan(50);
      stranger.close();
      await new Promise((r) => setTimeout(r, 100));
      stranger = await RawSmtp.connect(gw.port, { localAddress: '127.0.0.7' });
    }
    const school = await RawSmtp.connect(gw.port, { localAddress: SCHOOL });
    expect((await school.read()).code).toBe(220);
    const started = Date.now();
    const line = 'NOOP NOOP NOOP NOOP NOOP NOOP NOOP NOOP NOOP NOOP';
    for (let i = 0; i < line.length && !stranger.closed; i++) {
      stranger.write(line[i]);
      await new Promise((r) => setTimeout(r, 100));
    }
    await stranger.waitClosed(5_000);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect((await school.command('NOOP')).code).toBe(250);
    school.close();
  }, 20_000);
});
