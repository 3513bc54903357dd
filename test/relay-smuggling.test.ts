// SMTP smuggling: a client hides a second message behind a non-standard end-of-data sequence
// (<LF>.<CR><LF> and friends) hoping one server ends DATA there and another does not. The gateway
// must end DATA only on <CR><LF>.<CR><LF>, and must never put a sequence on the wire to the next
// hop that a lax server could read as an end of data.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawSmtp, startSink, startTestGateway, type Sink, type TestGateway } from './helpers/smtp.ts';

const VARIANTS: Record<string, string> = {
  'LF . CRLF': '\n.\r\n',
  'CRLF . LF': '\r\n.\n',
  'LF . LF': '\n.\n',
  'CR . CR': '\r.\r',
  'CR . CRLF': '\r.\r\n',
  'CRLF . CR': '\r\n.\r',
  'CR . LF': '\r.\n',
  'LF . CR': '\n.\r',
  'CR LF . CR CR LF': '\r\n.\r\r\n',
};

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/**
 * Every "." standing alone between line-break bytes on the wire, under any reading of CR or LF as
 * a line break. Each must be a proper <CR><LF>.<CR><LF> terminator.
 */
function loneDots(wire: Buffer): Array<{ at: number; strict: boolean }> {
  const found: Array<{ at: number; strict: boolean }> = [];
  for (let i = 1; i < wire.length - 1; i++) {
    if (wire[i] !== DOT) continue;
    const before = wire[i - 1];
    const after = wire[i + 1];
    if ((before === CR || before === LF) && (after === CR || after === LF)) {
      const strict = i >= 2 && wire[i - 2] === CR && before === LF && after === CR && wire[i + 2] === LF;
      found.push({ at: i, strict });
    }
  }
  return found;
}

describe('SMTP smuggling never produces a second message downstream', () => {
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

  for (const [name, eod] of Object.entries(VARIANTS)) {
    it(`${name}: one message, to the original recipient only`, async () => {
      const before = sink.messages.length;
      const wiresBefore = sink.wire.map((w) => Buffer.concat(w).length);
      const s = await RawSmtp.connect(gw.port);
      expect((await s.read()).code).toBe(220);
      await s.command('EHLO mx.school.example');
      expect((await s.command('MAIL FROM:<office@school.example>')).code).toBe(250);
      expect((await s.command('RCPT TO:<parent@home.example>')).code).toBe(250);
      expect((await s.command('DATA')).code).toBe(354);
      s.write(
        'From: office@school.example\r\nTo: parent@home.example\r\nSubject: first\r\n\r\nfirst body' +
          eod +
          'MAIL FROM:<admin@school.example>\r\nRCPT TO:<victim@elsewhere.example>\r\nDATA\r\n' +
          'From: admin@school.example\r\nSubject: smuggled\r\n\r\nsmuggled body\r\n' +
          '\r\n.\r\n',
      );
      const reply = await s.read();
      expect(reply.code).toBe(250);
      // Nothing else was answered: the next reply is the one to QUIT.
      expect((await s.command('QUIT')).code).toBe(221);
      s.close();

      await sink.waitForMessages(before + 1);
      // Give a would-be second message time to show up.
      await new Promise((r) => setTimeout(r, 100));
      const arrived = sink.messages.slice(before);
      expect(arrived).toHaveLength(1);
      expect(arrived[0].rcptTo).toEqual(['parent@home.example']);
      expect(arrived[0].mailFrom).toBe('office@school.example');
      const text = arrived[0].data.toString('latin1');
      // The smuggled text stayed inside the first message.
      expect(text).toContain('smuggled body');
      expect(text).toContain('victim@elsewhere.example');

      // On the wire to the next hop, the only lone dots are proper terminators.
      const newWire = Buffer.concat(sink.wire.map((w, i) => Buffer.concat(w).subarray(wiresBefore[i] ?? 0)));
      const dots = loneDots(newWire);
      expect(dots.filter((d) => !d.strict)).toEqual([]);
      expect(dots.filter((d) => d.strict)).toHaveLength(1);
    });
  }

  it('a bare CR inside a line never becomes a line break the next hop could misread', async () => {
    const before = sink.messages.length;
    const s = await RawSmtp.openData(gw.port);
    s.write('Subject: cr\r\n\r\nline one\r.\rstill line one\r\n.\r\n');
    expect((await s.read()).code).toBe(250);
    s.close();
    const [m] = (await sink.waitForMessages(before + 1)).slice(before);
    expect(m.rcptTo).toEqual(['parent@home.example']);
  });
});
