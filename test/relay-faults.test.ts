// Before-queue semantics under faults: the school's server hears 250 only once the next hop took
// the message. Next hop down, hung, deferring or dropping → 451 (retry); refusing → its 5xx.
// The sink never holds half a message, and nothing is logged as delivered that was not.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { createDeliverer } from '../src/act/deliver.ts';
import { closedPort, RawSmtp, sleep, splitTrace, startSilentServer, startSink, startTestGateway, type Sink, type TestGateway } from './helpers/smtp.ts';

const MESSAGE = Buffer.from(
  'From: office@school.example\r\nTo: parent@home.example\r\nSubject: Trip\r\n\r\n' + 'A line of the letter home.\r\n'.repeat(4000),
);
const ENVELOPE = { from: 'office@school.example', to: ['parent@home.example'] };

interface Outcome { code: number; response: string }

async function send(port: number, raw = MESSAGE, envelope: { from: string; to: string[] } = ENVELOPE): Promise<Outcome & { accepted?: string[]; rejected?: string[] }> {
  const t = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true } as never);
  try {
    const info = await t.sendMail({ envelope, raw });
    return { code: Number(info.response.slice(0, 3)), response: info.response, accepted: info.accepted as string[], rejected: info.rejected as string[] };
  } catch (err) {
    const e = err as { responseCode?: number; response?: string; message: string };
    return { code: e.responseCode ?? 0, response: e.response ?? e.message };
  } finally {
    t.close();
  }
}

function lastOutcome(gw: TestGateway): Record<string, unknown> {
  return gw.logs.filter((l) => l.event === 'message').at(-1) ?? {};
}

describe('next hop unreachable or hung', () => {
  it('connection refused → 451 4.4.1, logged as not delivered', async () => {
    const gw = await startTestGateway({ nextHop: { host: '127.0.0.1', port: await closedPort() } });
    try {
      const r = await send(gw.port);
      expect(r.code).toBe(451);
      expect(r.response).toMatch(/^451 4\.4\.1 Next hop unavailable, try again later \(ref [0-9A-Z]+\)$/);
      expect(lastOutcome(gw)).toMatchObject({ reply: 451, delivered: false });
    } finally {
      await gw.stop();
    }
  });

  it('next hop accepts TCP but never greets → 451 after the timeout', async () => {
    const silent = await startSilentServer();
    const gw = await startTestGateway({ nextHop: { host: '127.0.0.1', port: silent.port }, nextHopOptions: { timeout_seconds: 1 } });
    try {
      const r = await send(gw.port);
      expect(r.code).toBe(451);
      expect(r.response).toMatch(/^451 4\.4\.\d /);
      expect(lastOutcome(gw)).toMatchObject({ reply: 451, delivered: false });
    } finally {
      await gw.stop();
      await silent.close();
    }
  });
});

describe('next hop closing idle connections', () => {
  it('a pooled connection the next hop timed out is not used: the next message still goes through', async () => {
    const sink = await startSink({ idleTimeoutMs: 300 });
    const gw = await startTestGateway({ nextHop: sink });
    try {
      for (let i = 0; i < 3; i++) {
        expect((await send(gw.port)).code).toBe(250);
        await new Promise((r) => setTimeout(r, 600));
      }
      expect(sink.messages).toHaveLength(3);
    } finally {
      await gw.stop();
      await sink.close();
    }
  });
});

describe('the next-hop connection pool', () => {
  it('closes idle connections after its idle limit and opens a fresh one for the next message', async () => {
    const sink = await startSink();
    const deliverer = createDeliverer(
      { host: '127.0.0.1', port: sink.port, starttls: 'off', secure: false, rejectUnauthorized: true, timeoutSeconds: 5 },
      { hostname: 'hallmonitor.test', idleMs: 200 },
    );
    const envelope = { mailFrom: 'office@school.example', mailFromParams: {}, rcptTo: [{ address: 'parent@home.example' }] };
    try {
      expect((await deliverer.deliver(envelope, [MESSAGE])).ok).toBe(true);
      expect(sink.openConnections()).toBe(1);
      // Well before the 5 s socket timeout, which would also close it.
      const until = Date.now() + 2000;
      while (sink.openConnections() > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      expect(sink.openConnections()).toBe(0);
      expect((await deliverer.deliver(envelope, [MESSAGE])).ok).toBe(true);
      expect(sink.messages).toHaveLength(2);
      expect(sink.wire).toHaveLength(2);
    } finally {
      deliverer.close();
      await sink.close();
    }
  });
});

describe("next hop's own SIZE limit", () => {
  it('a message over the SIZE the next hop advertises is refused permanently (552), not retried forever', async () => {
    const small = await startSink({ size: 50_000 });
    const gw = await startTestGateway({ nextHop: small });
    try {
      const r = await send(gw.port); // ~112 KB
      expect(r.code).toBe(552);
      expect(r.response).toMatch(/^552 5\.3\.4 /);
      expect(small.dataStarted).toBe(0);
      const fits = await send(gw.port, Buffer.from('Subject: small\r\n\r\nhi\r\n'));
      expect(fits.code).toBe(250);
    } finally {
      await gw.stop();
      await small.close();
    }
  });
});

describe('next hop answers badly', () => {
  let sink: Sink;
  let gw: TestGateway;
  beforeAll(async () => {
    sink = await startSink();
    gw = await startTestGateway({ nextHop: sink, nextHopOptions: { timeout_seconds: 1 } });
  });
  afterEach(async () => {
    // Whatever went wrong, the next message goes through: the pool is not left poisoned.
    sink.fault = { kind: 'none' };
    sink.refuse.clear();
    const before = sink.messages.length;
    const ok = await send(gw.port);
    expect(ok.code).toBe(250);
    expect(sink.messages.length).toBe(before + 1);
  });
  afterAll(async () => {
    await gw?.stop();
    await sink?.close();
  });

  const deferrals = [
    { stage: 'connect', code: 421 },
    { stage: 'mail', code: 421 },
    { stage: 'mail', code: 451 },
    { stage: 'rcpt', code: 451 },
    { stage: 'data', code: 421 },
    { stage: 'data', code: 451 },
  ] as const;
  for (const { stage, code } of deferrals) {
    it(`${code} at ${stage} → upstream hears 451 4.4.2 and retries`, async () => {
      sink.fault = { kind: 'reply', stage, code };
      const before = sink.messages.length;
      const r = await send(gw.port);
      expect(r.code).toBe(451);
      expect(r.response).toMatch(/^451 4\.4\.2 Next hop deferred the message, try again later \(ref [0-9A-Z]+\)$/);
      expect(sink.messages.length).toBe(before);
      expect(lastOutcome(gw)).toMatchObject({ reply: 451, delivered: false });
    });
  }

  const refusals = [
    { stage: 'mail', code: 550, text: '5.7.1 Sender not allowed here' },
    { stage: 'rcpt', code: 550, text: '5.1.1 No such user here' },
    { stage: 'data', code: 550, text: '5.7.1 Message content rejected' },
    { stage: 'data', code: 552, text: '5.3.4 Message too big for the next hop' },
  ] as const;
  for (const { stage, code, text } of refusals) {
    it(`${code} at ${stage} → the 5xx is passed through`, async () => {
      sink.fault = { kind: 'reply', stage, code, text };
      const before = sink.messages.length;
      const r = await send(gw.port);
      expect(r.code).toBe(code);
      expect(r.response).toContain(text);
      expect(r.response).toMatch(/\(ref [0-9A-Z]+\)$/);
      expect(sink.messages.length).toBe(before);
      expect(lastOutcome(gw)).toMatchObject({ reply: code, delivered: false });
    });
  }

  it("addresses the next hop echoes in its reply reach the log only redacted", async () => {
    sink.fault = { kind: 'reply', stage: 'rcpt', code: 550, text: '5.1.1 <jane.pupil@home.example>: Recipient address rejected: User unknown' };
    const refused = await send(gw.port, MESSAGE, { from: 'office@school.example', to: ['jane.pupil@home.example'] });
    // The school's own server gets the next hop's words, to bounce to the sender who wrote them.
    expect(refused.code).toBe(550);
    expect(refused.response).toContain('<jane.pupil@home.example>: Recipient address rejected');
    sink.fault = { kind: 'reply', stage: 'data', code: 451, text: '4.7.1 <office@school.example> greylisted for <tom.pupil@home.example>' };
    expect((await send(gw.port)).code).toBe(451);
    const warnings = gw.logs.filter((l) => l.event === 'next-hop-refused' || l.event === 'next-hop-deferred');
    expect(warnings.map((l) => l.detail).join('\n')).toMatch(/j\*\*\*@home\.example.*\n?.*t\*\*\*@home\.example/s);
    expect(gw.logText()).not.toMatch(/jane\.pupil|tom\.pupil|office@school/);
  });

  it('next hop takes the message and never answers → 451, nothing recorded as delivered', async () => {
    sink.fault = { kind: 'hang-after-data' };
    const before = sink.messages.length;
    const r = await send(gw.port);
    expect(r.code).toBe(451);
    expect(r.response).toMatch(/^451 4\.4\.1 Next hop timed out, try again later/);
    expect(sink.messages.length).toBe(before);
    expect(lastOutcome(gw)).toMatchObject({ reply: 451, delivered: false });
  });

  it('next hop drops the connection mid-DATA → 451, the sink holds no half message', async () => {
    sink.fault = { kind: 'drop-mid-data', afterBytes: 20_000 };
    const before = sink.messages.length;
    const started = sink.dataStarted;
    const r = await send(gw.port);
    expect(r.code).toBe(451);
    expect(sink.dataStarted).toBe(started + 1);
    expect(sink.messages.length).toBe(before);
    expect(lastOutcome(gw)).toMatchObject({ reply: 451, delivered: false });
  });

  it('a slow next hop within the timeout still gets the message delivered and answered 250', async () => {
    sink.fault = { kind: 'slow', ms: 400 };
    const before = sink.messages.length;
    const r = await send(gw.port);
    expect(r.code).toBe(250);
    expect(sink.messages.length).toBe(before + 1);
  });

  it('partial permanent refusal: the accepted recipients get the message, 250, and the sender gets a bounce', async () => {
    sink.refuse.set('gone@home.example', 550);
    sink.refuse.set('nope@home.example', 550);
    const to = ['one@home.example', 'gone@home.example', 'two@home.example', 'nope@home.example'];
    const before = sink.messages.length;
    const r = await send(gw.port, MESSAGE, { from: 'office@school.example', to });
    expect(r.code).toBe(250);
    const [m, bounce] = (await sink.waitForMessages(before + 2)).slice(before);
    expect(m.rcptTo).toEqual(['one@home.example', 'two@home.example']);
    // The bounce: null sender, to the original sender, a standard delivery-status report.
    expect(bounce.mailFrom).toBe('');
    expect(bounce.rcptTo).toEqual(['office@school.example']);
    const text = bounce.data.toString();
    expect(text).toContain('Content-Type: multipart/report; report-type=delivery-status');
    expect(text).toContain('Final-Recipient: rfc822;gone@home.example');
    expect(text).toContain('Final-Recipient: rfc822;nope@home.example');
    expect(text).toContain('Action: failed');
    expect(text).not.toContain('Final-Recipient: rfc822;one@home.example');
    const line = lastOutcome(gw);
    expect(line).toMatchObject({ reply: 250, delivered: true, refused: 2 });
    const warn = gw.logs.filter((l) => l.event === 'recipients-refused').at(-1);
    expect(warn).toMatchObject({ refused: 2, codes: [550, 550] });
    expect(gw.logText()).not.toContain('gone@home.example');
  });

  it('partial permanent refusal with the sender\'s own address deferring: the bounce waits in the store, not lost', async () => {
    sink.refuse.set('gone@home.example', 550);
    sink.refuse.set('office@school.example', 451); // the bounce's recipient: busy for now
    const before = sink.messages.length;
    const r = await send(gw.port, MESSAGE, { from: 'office@school.example', to: ['one@home.example', 'gone@home.example'] });
    expect(r.code).toBe(250);
    const [m] = (await sink.waitForMessages(before + 1)).slice(before);
    expect(m.rcptTo).toEqual(['one@home.example']);
    // The outbox worker tried the bounce, was deferred, and keeps it for its next attempt.
    const until = Date.now() + 10_000;
    let rows: Array<{ attempts: number; status: string; recipient: string }> = [];
    while (Date.now() < until) {
      rows = await gw.gateway.store.db.selectFrom('bounces').select(['attempts', 'status', 'recipient']).execute();
      if (rows.some((x) => x.attempts >= 1 && x.status === 'pending')) break;
      await sleep(50);
    }
    expect(rows).toEqual([{ attempts: 1, status: 'pending', recipient: 'office@school.example' }]);
    expect(sink.messages.length).toBe(before + 1);
    await gw.gateway.store.db.deleteFrom('bounces').execute();
  });

  it('partial temporary refusal: nobody gets the message and the upstream hears 451, so it retries it whole', async () => {
    sink.refuse.set('gone@home.example', 550);
    sink.refuse.set('busy@home.example', 450);
    const to = ['one@home.example', 'gone@home.example', 'busy@home.example'];
    const before = sink.messages.length;
    const r = await send(gw.port, MESSAGE, { from: 'office@school.example', to });
    expect(r.code).toBe(451);
    await sleep(300);
    expect(sink.messages.length).toBe(before); // abandoned before its final dot: no half delivery
    // Once the next hop takes everybody, the retry goes through once.
    sink.refuse.clear();
    const retry = await send(gw.port, MESSAGE, { from: 'office@school.example', to });
    expect(retry.code).toBe(250);
    const [m] = (await sink.waitForMessages(before + 1)).slice(before);
    expect(m.rcptTo).toEqual(to);
  });

  it('every recipient refused, all permanently → the 5xx is passed through', async () => {
    sink.refuse.set('a@home.example', 550);
    sink.refuse.set('b@home.example', 550);
    const r = await send(gw.port, MESSAGE, { from: 'office@school.example', to: ['a@home.example', 'b@home.example'] });
    expect(r.code).toBe(550);
    expect(r.response).toContain('5.1.1 No such user here');
  });

  it('every recipient refused, one only temporarily → 451 so the upstream retries', async () => {
    sink.refuse.set('a@home.example', 550);
    sink.refuse.set('b@home.example', 450);
    const r = await send(gw.port, MESSAGE, { from: 'office@school.example', to: ['a@home.example', 'b@home.example'] });
    expect(r.code).toBe(451);
  });
});

describe('a client too slow with DATA (issue 15: deadlines)', () => {
  /** Trickles a message one byte every `everyMs` until the gateway answers or closes. */
  async function trickle(port: number, everyMs: number, maxMs: number): Promise<{ reply: string; closed: boolean; ms: number }> {
    const s = await RawSmtp.openData(port);
    const text = 'Subject: slow\r\n\r\n' + 'x'.repeat(10_000) + '\r\n.\r\n';
    const started = Date.now();
    let i = 0;
    let replied = '';
    const reading = s.read(maxMs + 5_000).then((r) => (replied = r.text), () => undefined);
    while (!replied && !s.closed && Date.now() - started < maxMs && i < text.length) {
      s.write(text[i++]);
      await sleep(everyMs);
    }
    await reading;
    await s.waitClosed(5_000).catch(() => undefined);
    const result = { reply: replied, closed: s.closed, ms: Date.now() - started };
    s.close();
    return result;
  }

  it('past data_timeout_seconds the whole of DATA is cut off with 421 4.4.2, the connection closed, nothing delivered', async () => {
    const sink = await startSink();
    const gw = await startTestGateway({ nextHop: sink, relay: { data_timeout_seconds: 5, min_data_rate_bytes_per_second: 0 } });
    try {
      const r = await trickle(gw.port, 200, 12_000);
      expect(r.reply).toMatch(/^421 4\.4\.2 .*took too long to arrive/);
      expect(r.closed).toBe(true);
      expect(r.ms).toBeLessThan(9_000);
      expect(sink.messages).toHaveLength(0);
      expect(gw.logs.some((l) => l.event === 'data-cut-off')).toBe(true);
    } finally {
      await gw.stop();
      await sink.close();
    }
  }, 30_000);

  it('below the minimum rate after its grace period, the same', async () => {
    const sink = await startSink();
    const gw = await startTestGateway({ nextHop: sink, relay: { data_timeout_seconds: 60, min_data_rate_bytes_per_second: 500, min_data_rate_after_seconds: 1 } });
    try {
      const r = await trickle(gw.port, 50, 10_000);
      expect(r.reply).toMatch(/^421 4\.4\.2 .*arriving too slowly/);
      expect(r.closed).toBe(true);
      expect(r.ms).toBeLessThan(4_000);
      expect(sink.messages).toHaveLength(0);
      // A client at a normal pace is not affected.
      expect((await send(gw.port)).code).toBe(250);
    } finally {
      await gw.stop();
      await sink.close();
    }
  }, 30_000);
});

/** A gateway whose checks wait at a gate the test opens, with the memory limits given. */
async function gatedGateway(limits: Record<string, unknown>) {
  const sink = await startSink();
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const g = { sink, open: () => open(), started: 0, gw: undefined as unknown as Awaited<ReturnType<typeof startTestGateway>> };
  g.gw = await startTestGateway({
    nextHop: sink,
    limits,
    inspector: async () => {
      g.started++;
      await gate;
      return { action: 'deliver', rules: [], findings: [], severity: 0 };
    },
  });
  return g;
}

describe('a memory budget shared by the messages in flight (issue 15, finding 9)', () => {
  it('a message that does not fit waits; past memory_wait_seconds it gets 451 4.3.1 and nothing is lost; the others are delivered', async () => {
    // Each 8 MB message reserves 4 × 8 = 32 MB of a 72 MB budget: two at once, not three.
    const g = await gatedGateway({ memory_mb: 72, memory_wait_seconds: 1 });
    const { sink, gw, open } = g;
    try {
      const big = Buffer.concat([Buffer.from('From: office@school.example\r\nTo: parent@home.example\r\nSubject: big\r\n\r\n'), Buffer.alloc(8 << 20, 'a\r\n')]);
      const sends = [send(gw.port, big), send(gw.port, big), send(gw.port, big)];
      const third = await Promise.race([Promise.all(sends).then(() => 'all'), (async () => {
        while (g.started < 2) await sleep(20);
        return 'two started';
      })()]);
      expect(third).toBe('two started');
      await sleep(1_500); // past memory_wait_seconds, with the first two still being checked
      expect(g.started).toBe(2);
      open();
      const results = await Promise.all(sends);
      const codes = results.map((r) => r.code).sort();
      expect(codes).toEqual([250, 250, 451]);
      expect(results.find((r) => r.code === 451)!.response).toMatch(/4\.3\.1 Gateway busy: not enough memory/);
      expect(sink.messages).toHaveLength(2);
      expect(gw.logs.some((l) => l.event === 'memory-budget-full')).toBe(true);
      // With the budget free again, the retry goes through.
      expect((await send(gw.port, big)).code).toBe(250);
    } finally {
      open();
      await gw.stop();
      await sink.close();
    }
  }, 30_000);

  it('large messages still arriving count too: one that does not fit is refused mid-DATA with 421 4.3.1, before it is all buffered; small mail is not', async () => {
    // 64 MB: the 12 MB message being checked reserves 48 MB; another 20 MB arriving does not fit.
    const g = await gatedGateway({ memory_mb: 64, memory_wait_seconds: 5 });
    const { sink, gw, open } = g;
    try {
      const head = 'From: office@school.example\r\nTo: parent@home.example\r\nSubject: big\r\n\r\n';
      const first = send(gw.port, Buffer.concat([Buffer.from(head), Buffer.alloc(12 << 20, 'a\r\n')]));
      while (g.started < 1) await sleep(20);
      const large = await send(gw.port, Buffer.concat([Buffer.from(head), Buffer.alloc(20 << 20, 'b\r\n')]));
      expect(large.code).toBe(421);
      expect(large.response).toMatch(/4\.3\.1 .*not enough memory for another large message now/);
      expect(g.started).toBe(1); // refused while arriving, never inspected
      // a small message arrives within its allowance and waits its turn like any other
      const small = send(gw.port, Buffer.from(`${head}hello\r\n`));
      await sleep(200);
      open();
      expect((await first).code).toBe(250);
      expect((await small).code).toBe(250);
      expect(sink.messages).toHaveLength(2);
      expect(sink.messages.some((m) => m.data.includes('bbbb'))).toBe(false);
    } finally {
      open();
      await gw.stop();
      await sink.close();
    }
  }, 30_000);
});

describe('a large message received by its declared size (SIZE=, RFC 1870)', () => {
  // Postfix and Exchange declare the size on MAIL FROM; the gateway then receives a large message
  // into one buffer of that size instead of joining chunks at the end. Whatever was declared
  // (right, too much, too little), the next hop gets exactly the bytes sent.
  let sink: Sink;
  let gw: TestGateway;
  beforeAll(async () => {
    sink = await startSink({ size: 64 << 20 });
    gw = await startTestGateway({ nextHop: sink });
  });
  afterAll(async () => {
    await gw?.stop();
    await sink?.close();
  });

  for (const [name, declare] of [['as sent', 0], ['5 MB more than sent', 5 << 20], ['2 MB less than sent', -(2 << 20)]] as const) {
    it(`declared ${name}: delivered byte for byte`, async () => {
      const body = Buffer.alloc(6 << 20);
      for (let i = 0; i < body.length; i++) body[i] = i % 100 === 98 ? 13 : i % 100 === 99 ? 10 : 97 + (i % 26);
      const raw = Buffer.concat([Buffer.from(`From: office@school.example\r\nTo: parent@home.example\r\nSubject: declared ${name}\r\n\r\n`), body]);
      const before = sink.messages.length;
      const s = await RawSmtp.connect(gw.port);
      await s.read();
      await s.command('EHLO mx.school.example');
      expect((await s.command(`MAIL FROM:<office@school.example> SIZE=${raw.length + declare}`)).code).toBe(250);
      await s.command('RCPT TO:<parent@home.example>');
      expect((await s.command('DATA')).code).toBe(354);
      s.write(Buffer.concat([raw, Buffer.from('\r\n.\r\n')]));
      const reply = await s.read(30_000);
      s.close();
      expect(reply.code).toBe(250);
      expect(sink.messages).toHaveLength(before + 1);
      expect(splitTrace(sink.messages[before].data).rest.equals(Buffer.concat([raw, Buffer.from('\r\n')]))).toBe(true);
    }, 60_000);
  }
});

describe('the next hop refusing the gateway itself, before MAIL FROM (its greeting, its login)', () => {
  it('554 to the greeting → 451: it is about the gateway, not this message', async () => {
    const refusing = await startSink();
    refusing.fault = { kind: 'reply', stage: 'connect', code: 554, text: '5.7.1 No SMTP service for this client' };
    const gw = await startTestGateway({ nextHop: { host: '127.0.0.1', port: refusing.port } });
    try {
      const r = await send(gw.port);
      expect(r.code).toBe(451);
      expect(r.response).toMatch(/^451 4\.4\.2 Next hop refused the gateway's connection or login, try again later \(ref [0-9A-Z]+\)$/);
      expect(refusing.messages).toHaveLength(0);
      expect(lastOutcome(gw)).toMatchObject({ reply: 451, delivered: false });
    } finally {
      await gw.stop();
      await refusing.close();
    }
  });


  it('535 to its login (SMTP AUTH turned off, a rotated password) → 451, so the school\'s server keeps the mail where passing the 535 on would bounce every message', async () => {
    const server = new SMTPServer({
      logger: false,
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      onAuth(_auth, _session, cb) {
        cb(Object.assign(new Error('5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.'), { responseCode: 535 }));
      },
      onData(stream, _session, cb) {
        stream.resume();
        stream.on('end', () => cb());
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.server.address() as { port: number }).port;
    const gw = await startTestGateway({ nextHop: { host: '127.0.0.1', port }, nextHopOptions: { auth: { user: 'relay@school.example', pass: 'expired' } } });
    try {
      const r = await send(gw.port);
      expect(r.code).toBe(451);
      expect(r.response).toContain("Next hop refused the gateway's connection or login");
      expect(lastOutcome(gw)).toMatchObject({ reply: 451, delivered: false });
    } finally {
      await gw.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
