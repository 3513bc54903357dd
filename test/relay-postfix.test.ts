// The real school mail server: Debian's Postfix relays through the gateway (relayhost) to a sink.
// Runs on the installed Postfix (missing Postfix is a failure, not a skip); where a Docker engine
// exists, the same scenario also runs on Postfix in a container via testcontainers.
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { sleep, splitTrace, startSink, startTestGateway, type Sink, type SinkMessage, type TestGateway } from './helpers/smtp.ts';
import { dockerEngineAvailable, startContainerPostfix, startInstalledPostfix, type SchoolMailServer } from './helpers/postfix.ts';

const providers: Array<{ name: string; start: (relayPort: number) => Promise<SchoolMailServer> }> = [
  { name: 'installed Postfix', start: startInstalledPostfix },
];
if (await dockerEngineAvailable()) providers.push({ name: 'Postfix in a container (testcontainers)', start: startContainerPostfix });

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const DKIM_KEY = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const DKIM_TXT = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
const resolver = async (name: string, type: string) => {
  if (name === 'sel1._domainkey.school.example' && type === 'TXT') return [[DKIM_TXT]];
  throw Object.assign(new Error('no DNS in tests'), { code: 'ENOTFOUND' });
};

function message(subject: string, body: string, extra = ''): Buffer {
  return Buffer.from(
    `From: Office <office@school.example>\nTo: parent@home.example\nSubject: ${subject}\nDate: Wed, 25 Nov 2026 09:00:00 +0000\n` +
      `Message-ID: <${subject.replace(/\W/g, '')}@school.example>\nMIME-Version: 1.0\n${extra}\n${body}`,
    'utf8',
  );
}

const crlf = (b: Buffer) => Buffer.from(b.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');

function bySubject(sink: Sink, subject: string): SinkMessage | undefined {
  return sink.messages.find((m) => m.data.includes(Buffer.from(`Subject: ${subject}\r\n`)));
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Strips Hallmonitor's trace header and then Postfix's own Received header. */
function originalPart(m: SinkMessage): { ours: string; postfix: string; rest: Buffer } {
  const a = splitTrace(m.data);
  const b = splitTrace(a.rest);
  return { ours: a.trace, postfix: b.trace, rest: b.rest };
}

for (const provider of providers) {
  describe(`${provider.name} relays through the gateway`, () => {
    let sink: Sink;
    let gw: TestGateway;
    let school: SchoolMailServer;

    beforeAll(async () => {
      sink = await startSink();
      gw = await startTestGateway({ nextHop: sink });
      school = await provider.start(gw.port);
    });
    afterAll(async () => {
      await school?.stop();
      await gw?.stop();
      await sink?.close();
    });

    async function queueIsEmpty(): Promise<string> {
      await school.flush();
      return waitFor('an empty Postfix queue', async () => {
        const q = await school.queue();
        return /Mail queue is empty/.test(q) ? q : undefined;
      }, 20_000);
    }

    it('delivers plain, 8-bit, SMTPUTF8, multi-recipient, large and DKIM-signed mail; nothing left deferred', async () => {
      const signed = (await nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix', dkim: { domainName: 'school.example', keySelector: 'sel1', privateKey: DKIM_KEY } } as never)
        .sendMail({ from: 'Head <head@school.example>', to: 'governors@trust.example', subject: 'pf-signed', text: 'Minutes of the meeting.\n.a dot line\n', date: new Date('2026-11-25T09:00:00Z'), messageId: '<pfsigned@school.example>' })) as unknown as { message: Buffer };
      const big = Buffer.alloc(2 * 1024 * 1024, 7).toString('base64').replace(/.{76}/g, '$&\n');
      const cases = [
        { subject: 'pf-plain', from: 'office@school.example', to: ['parent@home.example'], raw: message('pf-plain', 'Dear parent,\nThe trip is on Friday.\n') },
        { subject: 'pf-8bit', from: 'office@school.example', to: ['parent@home.example'], raw: message('pf-8bit', 'Grüße, café, 日本語 🎒\n', 'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n') },
        { subject: 'pf-utf8', from: 'office@school.example', to: ['jürgen@bücher.example'], raw: message('pf-utf8', 'Hallo\n') },
        { subject: 'pf-many', from: 'office@school.example', to: ['a@home.example', 'b@home.example', 'c@trust.example'], raw: message('pf-many', 'To all\n') },
        { subject: 'pf-large', from: 'bursar@school.example', to: ['auditor@firm.example'], raw: message('pf-large', `${big}\n`, 'Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n') },
        { subject: 'pf-signed', from: 'head@school.example', to: ['governors@trust.example'], raw: signed.message },
      ];
      for (const c of cases) await school.inject(c.from, c.to, c.raw);
      await waitFor(`${cases.length} messages at the sink`, () => (sink.messages.length >= cases.length ? true : undefined)).catch(async (err) => {
        throw new Error(`${(err as Error).message}\nqueue:\n${await school.queue()}\nlog:\n${await school.log()}`);
      });

      for (const c of cases) {
        const m = bySubject(sink, c.subject);
        expect(m, c.subject).toBeDefined();
        expect(m!.mailFrom).toBe(c.from);
        expect([...m!.rcptTo].sort()).toEqual([...c.to].sort());
        const { ours, postfix, rest } = originalPart(m!);
        expect(ours).toMatch(/by hallmonitor\.test \(Hallmonitor\) with ESMTP id /);
        expect(postfix).toMatch(/by mx\.school\.example \(Postfix[,)]/);
        // Postfix sends CRLF lines; the message is otherwise byte for byte what was submitted.
        expect(Buffer.compare(rest, crlf(c.raw)), c.subject).toBe(0);
      }
      // Postfix saw 8BITMIME and SMTPUTF8 offered, so it neither downgraded nor refused.
      expect(bySubject(sink, 'pf-utf8')!.mailCommand).toMatch(/SMTPUTF8/);
      const dkim = await dkimVerify(bySubject(sink, 'pf-signed')!.data, { resolver });
      expect(dkim.results[0].status.result).toBe('pass');

      expect(await queueIsEmpty()).toMatch(/Mail queue is empty/);
    });

    it('next hop deferring: Postfix keeps the message (451 from the gateway) and delivers it after a flush', async () => {
      sink.fault = { kind: 'reply', stage: 'data', code: 451 };
      await school.inject('office@school.example', ['parent@home.example'], message('pf-retry', 'Please retry me\n'));
      const q = await waitFor('a deferred message', async () => {
        const text = await school.queue();
        return /Next hop deferred the message/.test(text) ? text : undefined;
      });
      expect(q).toMatch(/451 4\.4\.2 Next hop deferred the message, try again later/);
      expect(bySubject(sink, 'pf-retry')).toBeUndefined();

      sink.fault = { kind: 'none' };
      await school.flush();
      await waitFor('the retried message', () => bySubject(sink, 'pf-retry'));
      expect(await queueIsEmpty()).toMatch(/Mail queue is empty/);
    });

    it('next hop refusing: Postfix bounces to the sender, and the bounce (null sender) goes out through the gateway', async () => {
      sink.refuse.set('nobody@home.example', 550);
      await school.inject('office@school.example', ['nobody@home.example'], message('pf-bounce', 'Nobody reads this\n'));
      const bounce = await waitFor('the bounce', () => sink.messages.find((m) => m.mailFrom === '' && m.rcptTo.includes('office@school.example')));
      expect(bounce.data.toString('latin1')).toMatch(/5\.1\.1 No such user here/);
      expect(await queueIsEmpty()).toMatch(/Mail queue is empty/);
      sink.refuse.clear();
    });

    if (provider.name === 'installed Postfix') {
      it('mail submitted to Postfix over SMTP is relayed too', async () => {
        const pf = school as SchoolMailServer & { smtpPort: number };
        const raw = crlf(message('pf-smtp', 'Sent by SMTP to the school server\n'));
        const t = nodemailer.createTransport({ host: '127.0.0.1', port: pf.smtpPort, secure: false, ignoreTLS: true } as never);
        await t.sendMail({ envelope: { from: 'office@school.example', to: ['parent@home.example'] }, raw });
        t.close();
        const m = await waitFor('the SMTP-submitted message', () => bySubject(sink, 'pf-smtp'));
        expect(Buffer.compare(originalPart(m).rest, raw)).toBe(0);
        expect(await queueIsEmpty()).toMatch(/Mail queue is empty/);
      });
    }
  });
}
