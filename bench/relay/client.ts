// A minimal SMTP client for the relay benchmarks' latency figures: one message at a time on a
// connection, the envelope pipelined (MAIL, RCPT, DATA in one write), timed by the caller.
import net from 'node:net';
import { sleep } from './postfix.ts';

const FROM = 'office@school.example';
const TO = 'parent@home.example';

export class Client {
  private buf = '';
  private waiting: Array<(code: number) => void> = [];
  private socket: net.Socket;
  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buf += d;
      for (;;) {
        const nl = this.buf.indexOf('\n');
        if (nl < 0) break;
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        if (line[3] === '-') continue;
        this.waiting.shift()?.(Number(line.slice(0, 3)));
      }
    });
    socket.on('error', () => undefined);
    // A server that closes (a 421 refusal) answers nothing more: every reply still awaited is 0.
    socket.on('close', () => {
      for (const w of this.waiting.splice(0)) w(0);
    });
  }
  static connect(port: number, localAddress = '127.0.0.1'): Promise<Client> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1', localAddress }, () => resolve(new Client(s)));
      s.once('error', reject);
    });
  }
  reply(): Promise<number> {
    if (this.socket.destroyed) return Promise.resolve(0);
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  async send(message: Buffer, from = FROM, to = TO): Promise<void> {
    const replies = [this.reply(), this.reply(), this.reply()];
    this.socket.write(`MAIL FROM:<${from}>\r\nRCPT TO:<${to}>\r\nDATA\r\n`);
    const codes = await Promise.all(replies);
    if (codes[0] !== 250 || codes[1] !== 250 || codes[2] !== 354) throw new Error(`envelope refused: ${codes.join(' ')}`);
    const done = this.reply();
    this.socket.write(message);
    const code = await done;
    if (code !== 250) throw new Error(`DATA answered ${code}`);
  }
  async hello(): Promise<number> {
    const greeting = await this.reply();
    const ehlo = this.reply();
    this.socket.write('EHLO mx.school.example\r\n');
    await ehlo;
    return greeting;
  }
  async quit(): Promise<void> {
    const bye = this.reply();
    this.socket.write('QUIT\r\n');
    await Promise.race([bye, sleep(1000)]);
    this.socket.destroy();
  }
}

export function messageOf(bytes: number, from = FROM, to = TO): Buffer {
  const head = `From: ${from}\r\nTo: ${to}\r\nSubject: relay benchmark\r\nMessage-ID: <bench@school.example>\r\n\r\n`;
  const line = `${'x'.repeat(78)}\r\n`;
  const body = line.repeat(Math.max(1, Math.round((bytes - head.length) / line.length)));
  return Buffer.from(`${head}${body}.\r\n`);
}

