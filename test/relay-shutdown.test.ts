// Graceful shutdown: stop accepting, finish the transactions in flight (answer them truthfully),
// close idle sessions with 421, then exit.
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { RawSmtp, sleep, startSink, startTestGateway, type Sink, type TestGateway } from './helpers/smtp.ts';

let sink: Sink;
let gw: TestGateway;

beforeEach(async () => {
  sink = await startSink();
  gw = await startTestGateway({ nextHop: sink });
});
afterEach(async () => {
  await gw.stop();
  await sink.close();
});

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

describe('graceful shutdown', () => {
  it('a message still being received when stop() is called is answered 250 and delivered', async () => {
    const s = await RawSmtp.openData(gw.port);
    s.write('Subject: half way\r\n\r\n' + 'first half of the letter\r\n'.repeat(2000));
    await sleep(50);

    const stopping = gw.gateway.stop();
    let stopped = false;
    void stopping.then(() => (stopped = true));
    await sleep(100);
    expect(stopped).toBe(false);
    expect(await refused(gw.port)).toBe(true);

    s.write('second half of the letter\r\n'.repeat(2000) + '.\r\n');
    const reply = await s.read();
    expect(reply.code).toBe(250);
    await stopping;
    expect(sink.messages).toHaveLength(1);
    expect(sink.messages[0].data.toString('latin1')).toContain('second half of the letter\r\n');
    s.close();
  });

  it('a message waiting for the next hop when stop() is called is answered 250 and delivered', async () => {
    sink.fault = { kind: 'slow', ms: 400 };
    const t = nodemailer.createTransport({ host: gw.host, port: gw.port, secure: false, ignoreTLS: true } as never);
    const sent = t.sendMail({ envelope: { from: 'office@school.example', to: ['parent@home.example'] }, raw: 'Subject: slow\r\n\r\nhi\r\n' });
    const until = Date.now() + 5000;
    while (gw.gateway.receiver.inFlight() === 0 && Date.now() < until) await sleep(5);
    expect(gw.gateway.receiver.inFlight()).toBe(1);
    const stopping = gw.gateway.stop();
    const info = await sent;
    expect(info.response).toMatch(/^250 /);
    await stopping;
    expect(sink.messages).toHaveLength(1);
    t.close();
  });

  it('idle sessions are told 421 and closed, and stop() does not wait for them', async () => {
    const idle = await RawSmtp.connect(gw.port);
    await idle.read();
    await idle.command('EHLO mx.school.example');
    const t0 = Date.now();
    await gw.gateway.stop();
    expect(Date.now() - t0).toBeLessThan(5000);
    const bye = await idle.read();
    expect(bye.code).toBe(421);
    await idle.waitClosed();
  });

  it('after the message in flight, the same session gets 421 for a new transaction', async () => {
    const s = await RawSmtp.openData(gw.port);
    s.write('Subject: one\r\n\r\nbody\r\n');
    const stopping = gw.gateway.stop();
    await sleep(50);
    s.write('.\r\n');
    expect((await s.read()).code).toBe(250);
    s.write('MAIL FROM:<office@school.example>\r\n');
    expect((await s.read()).code).toBe(421);
    await stopping;
    expect(sink.messages).toHaveLength(1);
  });
});
