// Round trip: nodemailer → gateway → capturing sink. The sink must receive the exact bytes the
// client sent (after Hallmonitor's one prepended Received header) and the same envelope.
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { splitTrace, startSink, startTestGateway, type Sink, type TestGateway } from './helpers/smtp.ts';

let sink: Sink;
let gw: TestGateway;

beforeAll(async () => {
  sink = await startSink();
  gw = await startTestGateway({ nextHop: sink });
});
afterAll(async () => {
  await gw?.stop();
  await sink?.close();
});

/** Builds the message bytes with nodemailer, so the test knows exactly what went in. */
async function compose(mail: SendMailOptions & { dkim?: unknown }): Promise<Buffer> {
  const t = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows', dkim: mail.dkim } as never);
  const info = (await t.sendMail(mail)) as unknown as { message: Buffer };
  return info.message;
}

function client(): Transporter {
  return nodemailer.createTransport({ host: gw.host, port: gw.port, secure: false, ignoreTLS: true, pool: false } as never);
}

async function relay(raw: Buffer, envelope: { from: string; to: string[] }, extra: Record<string, unknown> = {}) {
  const before = sink.messages.length;
  const info = await client().sendMail({ envelope, raw, ...extra });
  const [received] = (await sink.waitForMessages(before + 1)).slice(before);
  return { info, received };
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

describe('round trip through the gateway', () => {
  it('relays a line longer than SMTP’s 998 bytes unchanged (RFC 5321 §4.5.3.1.6): passing it on is the next hop’s call, rewriting it would break DKIM', async () => {
    const long = 'x'.repeat(5_000);
    const raw = Buffer.from(`From: office@school.example\r\nTo: parent@home.example\r\nSubject: Long line\r\n\r\nbefore\r\n${long}\r\nafter\r\n`);
    const { info, received } = await relay(raw, { from: 'office@school.example', to: ['parent@home.example'] });
    expect(info.response).toMatch(/^250 /);
    expect(Buffer.compare(splitTrace(received.data).rest, raw)).toBe(0);
  });

  it('delivers the exact bytes after one Received header, and the same envelope', async () => {
    const raw = await compose({
      from: 'Head Teacher <head@school.example>',
      to: 'governors@trust.example',
      subject: 'Termly report',
      text: 'Plain text\r\n.leading dot line\r\n..two dots\r\nend',
      html: '<p>Plain</p>',
    });
    const { info, received } = await relay(raw, { from: 'head@school.example', to: ['governors@trust.example'] });
    expect(info.response).toMatch(/^250 .*delivered as [0-9A-Z]+/);
    const { trace, rest } = splitTrace(received.data);
    expect(Buffer.compare(rest, raw)).toBe(0);
    expect(trace).toMatch(/^Received: from \S+ \(\[127\.0\.0\.1\]\)\r\n\tby hallmonitor\.test \(Hallmonitor\) with ESMTP id [0-9A-Z]+\r\n\tfor <governors@trust\.example>;\r\n\t.+\r\n$/);
    expect(received.mailFrom).toBe('head@school.example');
    expect(received.rcptTo).toEqual(['governors@trust.example']);
    // Only one header was added.
    expect(received.data.toString('latin1').match(/^Received: /gm)).toHaveLength(1);
  });

  it('keeps 8-bit bodies byte for byte and passes BODY=8BITMIME on', async () => {
    const body = Buffer.concat([
      Buffer.from('From: office@school.example\r\nTo: parent@home.example\r\nSubject: =?utf-8?q?Caf=C3=A9?=\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'),
      Buffer.from('Grüße aus der Schule, café, naïve, 日本語, emoji 🎒\r\n', 'utf8'),
      Buffer.from([0xe9, 0x20, 0xff, 0xfe, 0x80, 0x0d, 0x0a]), // latin-1 and invalid UTF-8 bytes
      Buffer.from('last line\r\n'),
    ]);
    const { received } = await relay(body, { from: 'office@school.example', to: ['parent@home.example'] });
    expect(Buffer.compare(splitTrace(received.data).rest, body)).toBe(0);

    // Over a raw conversation, with BODY=8BITMIME declared by the school's server.
    const before = sink.messages.length;
    const { RawSmtp } = await import('./helpers/smtp.ts');
    const s = await RawSmtp.connect(gw.port);
    expect((await s.read()).code).toBe(220);
    const ehlo = await s.command('EHLO mx.school.example');
    expect(ehlo.text).toMatch(/8BITMIME/);
    expect((await s.command('MAIL FROM:<office@school.example> BODY=8BITMIME')).code).toBe(250);
    expect((await s.command('RCPT TO:<parent@home.example>')).code).toBe(250);
    expect((await s.command('DATA')).code).toBe(354);
    s.write(Buffer.concat([body, Buffer.from('.\r\n')]));
    expect((await s.read()).code).toBe(250);
    await s.command('QUIT');
    const [m] = (await sink.waitForMessages(before + 1)).slice(before);
    expect(m.mailCommand).toMatch(/^MAIL FROM:<office@school\.example> .*BODY=8BITMIME/);
    expect(Buffer.compare(splitTrace(m.data).rest, body)).toBe(0);
  });

  it('relays SMTPUTF8 addresses unchanged (internationalised local parts and domains)', async () => {
    const from = 'zoë.ädmin@schüle.example';
    const to = ['jürgen@bücher.example', 'δοκιμή@παράδειγμα.example', 'plain@ascii.example'];
    const raw = await compose({ from, to, subject: 'Ünïcödé', text: 'Hallo' });
    const { received } = await relay(raw, { from, to });
    expect(received.mailFrom).toBe(from);
    expect(received.rcptTo).toEqual(to);
    expect(received.mailCommand).toMatch(/ SMTPUTF8/);
    expect(Buffer.compare(splitTrace(received.data).rest, raw)).toBe(0);
  });

  it('keeps an A-label (xn--) domain as the school sent it, not converted to Unicode', async () => {
    const { RawSmtp } = await import('./helpers/smtp.ts');
    const before = sink.messages.length;
    const s = await RawSmtp.connect(gw.port);
    await s.read();
    await s.command('EHLO mx.school.example');
    expect((await s.command('MAIL FROM:<office@xn--schle-kva.example>')).code).toBe(250);
    expect((await s.command('RCPT TO:<head@xn--bcher-kva.example>')).code).toBe(250);
    expect((await s.command('DATA')).code).toBe(354);
    s.write('Subject: a-label\r\n\r\nhi\r\n.\r\n');
    expect((await s.read()).code).toBe(250);
    s.close();
    const [m] = (await sink.waitForMessages(before + 1)).slice(before);
    expect(m.mailCommand.startsWith('MAIL FROM:<office@xn--schle-kva.example>')).toBe(true);
    expect(m.rcptCommands[0].startsWith('RCPT TO:<head@xn--bcher-kva.example>')).toBe(true);
    expect(m.mailCommand).not.toMatch(/SMTPUTF8/);
  });

  it('passes SMTPUTF8 on when the school asked for it, even with ASCII addresses', async () => {
    const { RawSmtp } = await import('./helpers/smtp.ts');
    const before = sink.messages.length;
    const s = await RawSmtp.connect(gw.port);
    await s.read();
    await s.command('EHLO mx.school.example');
    expect((await s.command('MAIL FROM:<office@school.example> SMTPUTF8')).code).toBe(250);
    expect((await s.command('RCPT TO:<head@trust.example>')).code).toBe(250);
    expect((await s.command('DATA')).code).toBe(354);
    s.write(Buffer.from('Subject: Schöne Grüße\r\nFrom: Zoë <office@school.example>\r\n\r\nhi\r\n.\r\n', 'utf8'));
    expect((await s.read()).code).toBe(250);
    s.close();
    const [m] = (await sink.waitForMessages(before + 1)).slice(before);
    expect(m.mailCommand).toMatch(/^MAIL FROM:<office@school\.example> .*SMTPUTF8/);
  });

  it('reuses its next-hop connection across messages without piling up listeners', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const raw = await compose({ from: 'office@school.example', to: 'a@trust.example', subject: 'n', text: 'x' });
      const t = nodemailer.createTransport({ host: gw.host, port: gw.port, secure: false, ignoreTLS: true, pool: true, maxConnections: 1 } as never);
      const connectionsBefore = sink.wire.length;
      for (let i = 0; i < 25; i++) await t.sendMail({ envelope: { from: 'office@school.example', to: ['a@trust.example'] }, raw });
      t.close();
      // The gateway was already connected to the sink; 25 messages used at most one new connection.
      expect(sink.wire.length - connectionsBefore).toBeLessThanOrEqual(1);
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.includes('MaxListeners'))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('relays a 30 MB attachment byte for byte', async () => {
    const attachment = randomBytes(22 * 1024 * 1024);
    const raw = await compose({
      from: 'bursar@school.example',
      to: 'auditor@firm.example',
      subject: 'Accounts',
      text: 'Attached.',
      attachments: [{ filename: 'accounts.bin', content: attachment }],
    });
    expect(raw.length).toBeGreaterThan(30 * 1000 * 1000);
    const { received } = await relay(raw, { from: 'bursar@school.example', to: ['auditor@firm.example'] });
    const { rest } = splitTrace(received.data);
    expect(rest.length).toBe(raw.length);
    expect(sha(rest)).toBe(sha(raw));
  });

  it('relays one message to 100 recipients with every address in order', async () => {
    const to = Array.from({ length: 100 }, (_, i) => `parent${String(i).padStart(3, '0')}@home${i % 7}.example`);
    const raw = await compose({ from: 'office@school.example', to: 'undisclosed-recipients:;', subject: 'Trip', text: 'Letter' });
    const { info, received } = await relay(raw, { from: 'office@school.example', to });
    expect(info.accepted).toHaveLength(100);
    expect(received.rcptTo).toEqual(to);
    expect(Buffer.compare(splitTrace(received.data).rest, raw)).toBe(0);
    // With several recipients the trace header names none of them.
    expect(splitTrace(received.data).trace).not.toMatch(/ for </);
  });

  it('passes DSN parameters on: RET, ENVID, and each recipient its own NOTIFY and ORCPT', async () => {
    const { RawSmtp } = await import('./helpers/smtp.ts');
    const before = sink.messages.length;
    const s = await RawSmtp.connect(gw.port);
    await s.read();
    expect((await s.command('EHLO mx.school.example')).text).toMatch(/DSN/);
    expect((await s.command('MAIL FROM:<office@school.example> RET=HDRS ENVID=QQ314159+2Bx')).code).toBe(250);
    expect((await s.command('RCPT TO:<a@trust.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@trust.example')).code).toBe(250);
    expect((await s.command('RCPT TO:<b@trust.example> NOTIFY=NEVER')).code).toBe(250);
    expect((await s.command('RCPT TO:<c@trust.example>')).code).toBe(250);
    expect((await s.command('DATA')).code).toBe(354);
    s.write('Subject: dsn\r\n\r\nhi\r\n.\r\n');
    expect((await s.read()).code).toBe(250);
    s.close();
    const [m] = (await sink.waitForMessages(before + 1)).slice(before);
    expect(m.mailCommand).toMatch(/ RET=HDRS( |$)/);
    expect(m.mailCommand).toMatch(/ ENVID=QQ314159\+2Bx( |$)/);
    expect(m.rcptCommands[0]).toMatch(/^RCPT TO:<a@trust\.example> /);
    expect(m.rcptCommands[0]).toMatch(/ NOTIFY=SUCCESS,FAILURE( |$)/);
    expect(m.rcptCommands[0]).toMatch(/ ORCPT=rfc822;a@trust\.example( |$)/);
    expect(m.rcptCommands[1]).toMatch(/ NOTIFY=NEVER( |$)/);
    expect(m.rcptCommands[1]).not.toMatch(/ORCPT/);
    expect(m.rcptCommands[2]).toBe('RCPT TO:<c@trust.example>');
  });

  it('passes nodemailer-generated DSN options through unchanged', async () => {
    const raw = await compose({ from: 'office@school.example', to: 'x@trust.example', subject: 'dsn', text: 'x' });
    const { received } = await relay(raw, { from: 'office@school.example', to: ['x@trust.example'] }, {
      dsn: { id: 'msg-42', return: 'full', notify: ['failure', 'delay'], recipient: 'office@school.example' },
    });
    expect(received.mailCommand).toMatch(/ RET=FULL/);
    expect(received.mailCommand).toMatch(/ ENVID=msg-42/);
    expect(received.rcptCommands[0]).toMatch(/ NOTIFY=FAILURE,DELAY/);
    expect(received.rcptCommands[0]).toMatch(/ ORCPT=rfc822;office@school\.example/);
  });

  it('a DKIM-signed message still verifies after the relay', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const spki = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    const raw = await compose({
      from: 'Head <head@school.example>',
      to: 'governors@trust.example',
      subject: 'Signed minutes',
      text: 'Minutes attached.\r\n.dot line\r\n',
      attachments: [{ filename: 'minutes.txt', content: 'Agreed.\n' }],
      dkim: { domainName: 'school.example', keySelector: 'hm2026', privateKey: pem },
    });
    expect(raw.toString('latin1')).toMatch(/^DKIM-Signature: /);
    const resolver = async (name: string, type: string) => {
      if (name === 'hm2026._domainkey.school.example' && type === 'TXT') return [[`v=DKIM1; k=rsa; p=${spki}`]];
      throw Object.assign(new Error(`no DNS in tests (${name} ${type})`), { code: 'ENOTFOUND' });
    };
    // Sanity: the signature verifies before the relay, so the test can fail for the right reason.
    const direct = await dkimVerify(raw, { resolver });
    expect(direct.results[0].status.result).toBe('pass');

    const { received } = await relay(raw, { from: 'head@school.example', to: ['governors@trust.example'] });
    const after = await dkimVerify(received.data, { resolver });
    expect(after.results).toHaveLength(1);
    expect(after.results[0].status.result).toBe('pass');
    expect(after.results[0].signingDomain).toBe('school.example');
  });

  it('answers a pipelining server (MAIL, RCPT and DATA at once) in one write, and sends the next hop its message and final dot in one', async () => {
    const before = sink.messages.length;
    const socket = net.connect(gw.port, '127.0.0.1');
    socket.setNoDelay(true);
    let seen = '';
    const waiters: Array<() => void> = [];
    socket.on('data', (d: Buffer) => {
      seen += d.toString('latin1');
      for (const w of waiters.splice(0)) w();
    });
    const until = async (pattern: RegExp) => {
      const deadline = Date.now() + 5_000;
      while (!pattern.test(seen)) {
        if (Date.now() > deadline) throw new Error(`no ${pattern} in ${JSON.stringify(seen)}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
    };
    try {
      await until(/^220 /m);
      socket.write('EHLO mx.school.example\r\n');
      await until(/^250 /m);
      seen = '';
      // The gateway's writes (its sockets are in this process): to this client, and to the next hop.
      const proto = net.Socket.prototype as unknown as { _writeGeneric(this: net.Socket, writev: boolean, data: unknown, ...rest: unknown[]): unknown };
      const original = proto._writeGeneric;
      let writes = 0;
      const toNextHop: string[] = [];
      proto._writeGeneric = function (this: net.Socket, writev: boolean, data: unknown, ...rest: unknown[]) {
        if (this.localPort === gw.port && this.remotePort === socket.localPort) writes++;
        if (this.remotePort === sink.port) toNextHop.push((writev ? (data as Array<{ chunk: Buffer | string }>).map((d) => d.chunk) : [data as Buffer | string]).map((c) => (typeof c === 'string' ? c : c.toString('latin1'))).join(''));
        return original.call(this, writev, data, ...rest);
      };
      try {
        socket.write('MAIL FROM:<office@school.example>\r\nRCPT TO:<parent@home.example>\r\nDATA\r\n');
        await until(/^354 /m);
        // Three replies, one write: smtp-server's writes of one turn are corked together.
        expect(seen).toMatch(/^250 [^\r]*\r\n250 [^\r]*\r\n354 /);
        expect(writes).toBe(1);
        socket.write('From: office@school.example\r\nTo: parent@home.example\r\nSubject: Pipelined\r\n\r\nHello.\r\n.\r\n');
        await until(/^250 2\.0\.0 /m);
      } finally {
        proto._writeGeneric = original;
      }
      // To the next hop, the trace header, the message and the final dot went in one write.
      expect(toNextHop.some((w) => w.startsWith('Received: ') && w.includes('Subject: Pipelined') && w.endsWith('\r\n.\r\n'))).toBe(true);
      expect(sink.messages.length).toBe(before + 1);
      expect(splitTrace(sink.messages.at(-1)!.data).rest.toString('latin1')).toContain('Subject: Pipelined');
    } finally {
      socket.destroy();
    }
  });

  it('logs one outcome line per message without subject, names or addresses', async () => {
    const raw = await compose({ from: 'Jane Smith <jane.smith@school.example>', to: 'Tom Pupil <tom.pupil@home.example>', subject: 'Confidential SEN review', text: 'x' });
    await relay(raw, { from: 'jane.smith@school.example', to: ['tom.pupil@home.example'] });
    const outcome = gw.logs.filter((l) => l.event === 'message');
    expect(outcome.length).toBeGreaterThan(0);
    const last = outcome.at(-1)!;
    expect(last).toMatchObject({ reply: 250, verdict: 'deliver', rcpts: 1, delivered: true });
    expect(typeof last.size).toBe('number');
    expect(gw.logText()).not.toMatch(/Confidential|jane\.smith|tom\.pupil|Jane Smith/);
  });
});
