// Shared helpers for the relay tests: a capturing next-hop sink, a gateway starter over
// validateConfig, and a raw line-level SMTP client for the conversations nodemailer will not have
// (early talkers, smuggling, PROXY headers). Everything listens on 127.0.0.1, port 0.
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { validateConfig } from '../../src/config/index.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { DELIVER, type Inspector } from '../../src/types.ts';

// ---------------------------------------------------------------------------------------------
// The next hop: a capturing sink
// ---------------------------------------------------------------------------------------------

export interface SinkMessage {
  /** Addresses as smtp-server parsed them. */
  mailFrom: string;
  rcptTo: string[];
  /** MAIL FROM / RCPT TO exactly as they came over the wire (address and parameters). */
  mailCommand: string;
  rcptCommands: string[];
  /** The DATA bytes, dot-unstuffed, exactly as received. */
  data: Buffer;
}

export type SinkFault =
  | { kind: 'none' }
  /** Answer `code` at the given stage (connect = greeting refused). */
  | { kind: 'reply'; stage: 'connect' | 'mail' | 'rcpt' | 'data'; code: number; text?: string }
  /** Read the whole message and never answer (the gateway must time out). */
  | { kind: 'hang-after-data' }
  /** Tear the connection down once this many bytes of DATA arrived. */
  | { kind: 'drop-mid-data'; afterBytes: number }
  /** Answer DATA only after this many ms (a slow but working next hop). */
  | { kind: 'slow'; ms: number };

export interface Sink {
  host: string;
  port: number;
  /** Completed, accepted messages only. */
  messages: SinkMessage[];
  /** Raw bytes of every connection, as they arrived on the wire (for the smuggling tests). */
  wire: Buffer[][];
  /** The address each connection came from, in order. */
  remoteAddresses: string[];
  /** DATA streams begun (complete or not). */
  dataStarted: number;
  fault: SinkFault;
  /** Recipients this sink refuses at RCPT, with the code to use. */
  refuse: Map<string, number>;
  /** Connections currently open to the sink. */
  openConnections(): number;
  waitForMessages(n: number, timeoutMs?: number): Promise<SinkMessage[]>;
  close(): Promise<void>;
}

interface RawConnection {
  _socket: net.Socket;
  _parseAddressCommand(name: string, command: Buffer | string): false | { address: string; args: unknown; raw?: string };
}

export async function startSink(opts: { size?: number; greetDelay?: boolean; idleTimeoutMs?: number } = {}): Promise<Sink> {
  const sink: Sink = {
    host: '127.0.0.1',
    port: 0,
    messages: [],
    wire: [],
    remoteAddresses: [],
    dataStarted: 0,
    fault: { kind: 'none' },
    refuse: new Map(),
    openConnections: () => [...socketOf.values()].filter((s) => !s.destroyed).length,
    waitForMessages: async (n, timeoutMs = 20_000) => {
      const until = Date.now() + timeoutMs;
      while (sink.messages.length < n) {
        if (Date.now() > until) throw new Error(`sink: expected ${n} messages, have ${sink.messages.length}`);
        await sleep(20);
      }
      return sink.messages;
    },
    close: async () => undefined,
  };
  const socketOf = new Map<string, net.Socket>();

  class CapturingServer extends SMTPServer {
    override connect(socket: net.Socket, socketOptions: Record<string, unknown>): void {
      const wire: Buffer[] = [];
      sink.wire.push(wire);
      sink.remoteAddresses.push((socket.remoteAddress ?? '').replace(/^::ffff:/, ''));
      socket.on('data', (c: Buffer) => wire.push(c));
      const self = this as unknown as { connections: Set<unknown>; _onError(e: Error): void; _onClientConnect(d: unknown): void };
      const c = new SMTPConnection(this, socket, socketOptions) as unknown as RawConnection & {
        id: string;
        init(): void;
        _setListeners(cb: () => void): void;
        connectionReady(): void;
        on(event: string, fn: (...a: unknown[]) => void): void;
      };
      self.connections.add(c);
      c.on('error', (err) => self._onError(err as Error));
      c.on('connect', (data) => self._onClientConnect(data));
      socketOf.set(c.id, socket);
      socket.once('close', () => socketOf.delete(c.id));
      // Keep the command line as sent, so the envelope can be compared byte for byte
      // (smtp-server turns xn-- domains into Unicode in its parsed address).
      const parse = c._parseAddressCommand.bind(c);
      c._parseAddressCommand = (name, command) => {
        const parsed = parse(name, command);
        if (parsed) parsed.raw = command.toString('utf8');
        return parsed;
      };
      // The sink is not under test: it greets at once unless asked to keep smtp-server's pause.
      if (opts.greetDelay) c.init();
      else c._setListeners(() => c.connectionReady());
    }
  }

  const failWith = (code: number, text?: string) =>
    Object.assign(new Error(text ?? (code >= 500 ? '5.0.0 Refused by the test sink' : '4.0.0 Deferred by the test sink')), { responseCode: code });

  const options: SMTPServerOptions = {
    logger: false,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    disableReverseLookup: true,
    hideDSN: false,
    size: opts.size,
    socketTimeout: opts.idleTimeoutMs,
    onConnect(_session, cb) {
      const f = sink.fault;
      if (f.kind === 'reply' && f.stage === 'connect') return cb(failWith(f.code, f.text));
      cb();
    },
    onMailFrom(_address, _session, cb) {
      const f = sink.fault;
      if (f.kind === 'reply' && f.stage === 'mail') return cb(failWith(f.code, f.text));
      cb();
    },
    onRcptTo(address, _session, cb) {
      const f = sink.fault;
      if (f.kind === 'reply' && f.stage === 'rcpt') return cb(failWith(f.code, f.text));
      const refusal = sink.refuse.get(address.address);
      // As real next hops do, the reply names the address ("… <jane@home.example>").
      if (refusal) return cb(failWith(refusal, refusal >= 500 ? `5.1.1 No such user here: <${address.address}>` : `4.2.1 Mailbox busy, try later: <${address.address}>`));
      cb();
    },
    onData(stream, session, cb) {
      sink.dataStarted++;
      const f = sink.fault;
      const chunks: Buffer[] = [];
      let bytes = 0;
      stream.on('data', (c: Buffer) => {
        chunks.push(c);
        bytes += c.length;
        if (f.kind === 'drop-mid-data' && bytes >= f.afterBytes) socketOf.get(session.id)?.destroy();
      });
      stream.on('error', () => undefined);
      stream.on('end', () => {
        if (f.kind === 'drop-mid-data') return; // the socket is gone: nothing was accepted
        if (f.kind === 'hang-after-data') return; // never answer
        if (f.kind === 'reply' && f.stage === 'data') return cb(failWith(f.code, f.text));
        if ((stream as unknown as { sizeExceeded?: boolean }).sizeExceeded) return cb(failWith(552, '5.3.4 Too big'));
        const mail = session.envelope.mailFrom as false | { address: string; raw?: string };
        const rcpts = session.envelope.rcptTo as Array<{ address: string; raw?: string }>;
        const accept = () => {
          sink.messages.push({
            mailFrom: mail ? mail.address : '',
            rcptTo: rcpts.map((r) => r.address),
            mailCommand: mail ? (mail.raw ?? '') : '',
            rcptCommands: rcpts.map((r) => r.raw ?? ''),
            data: Buffer.concat(chunks, bytes),
          });
          cb(null, 'Ok: captured by the test sink');
        };
        if (f.kind === 'slow') setTimeout(accept, f.ms);
        else accept();
      });
    },
  };
  const server = new CapturingServer(options);
  // A connection reset by a gateway that was killed (the crash tests do it on purpose) is an
  // 'error' of the server; with no listener it would be an uncaught exception in the test run.
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  sink.port = (server.server.address() as net.AddressInfo).port;
  sink.close = () =>
    new Promise<void>((resolve) => {
      for (const s of socketOf.values()) s.destroy();
      server.close(() => resolve());
    });
  return sink;
}

/** A server that accepts TCP connections and never says a word (a hung next hop). */
export async function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A loopback port with nothing listening on it (connections are refused). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

// ---------------------------------------------------------------------------------------------
// The gateway under test
// ---------------------------------------------------------------------------------------------

export interface TestGateway {
  gateway: Gateway;
  host: string;
  port: number;
  /** Parsed pino lines the gateway wrote. */
  logs: Array<Record<string, unknown>>;
  /** The raw log text, for "never logs content" assertions. */
  logText(): string;
  stop(): Promise<void>;
}

export interface TestGatewayOptions {
  nextHop?: { host: string; port: number } | null;
  /** Extra `relay:` keys (snake_case, as in the YAML file). */
  relay?: Record<string, unknown>;
  /** Extra `next_hop:` keys. */
  nextHopOptions?: Record<string, unknown>;
  /** `limits:` keys. */
  limits?: Record<string, unknown>;
  /** Defaults to always deliver, whatever policy the gateway would wire by default. */
  inspector?: Inspector;
  hostname?: string;
}

export async function startTestGateway(opts: TestGatewayOptions = {}): Promise<TestGateway> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'hm-relay-data-'));
  const doc: Record<string, unknown> = {
    hostname: opts.hostname ?? 'hallmonitor.test',
    listen: '127.0.0.1:0',
    data_dir: dataDir,
    health: { listen: null },
    log: { level: 'info' },
    relay: { allow_networks: ['127.0.0.0/8'], ...opts.relay },
    ...(opts.limits ? { limits: opts.limits } : {}),
  };
  if (opts.nextHop) {
    doc.next_hop = { host: opts.nextHop.host, port: opts.nextHop.port, starttls: 'off', timeout_seconds: 5, ...opts.nextHopOptions };
  }
  const config = validateConfig(doc, '(test)', {}, {}, dataDir);
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = pino({ level: 'info' }, stream);
  // The relay tests are about the relay: the seam always says deliver unless a test says otherwise.
  const gateway = await startGateway(config, { logger, inspector: opts.inspector ?? (async () => DELIVER) });
  const a = gateway.receiver.address();
  let stopped = false;
  return {
    gateway,
    host: a.host,
    port: a.port,
    get logs() {
      return lines.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    logText: () => lines.join(''),
    async stop() {
      if (stopped) return;
      stopped = true;
      await gateway.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// A raw SMTP client
// ---------------------------------------------------------------------------------------------

export interface Reply { code: number; lines: string[]; text: string }

/** A line-level SMTP client over a plain socket: write exactly the bytes a test wants. */
export class RawSmtp {
  readonly socket: net.Socket;
  private buffer = '';
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buffer += d;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  static connect(port: number, opts: { host?: string; localAddress?: string } = {}): Promise<RawSmtp> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: opts.host ?? '127.0.0.1', localAddress: opts.localAddress }, () => resolve(new RawSmtp(socket)));
      socket.once('error', reject);
    });
  }

  /**
   * A session from the school's server up to DATA: greeted, EHLO, MAIL FROM the office, RCPT TO a
   * parent, and DATA answered 354 (the message itself is the caller's to write).
   */
  static async openData(port: number): Promise<RawSmtp> {
    const s = await RawSmtp.connect(port);
    await s.read();
    await s.command('EHLO mx.school.example');
    await s.command('MAIL FROM:<office@school.example>');
    await s.command('RCPT TO:<parent@home.example>');
    const data = await s.command('DATA');
    if (data.code !== 354) throw new Error(`DATA answered ${data.code} ${data.text}`);
    return s;
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Reads one complete (possibly multi-line) reply. */
  async read(timeoutMs = 10_000): Promise<Reply> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const reply = this.take();
      if (reply) return reply;
      if (this.closed) throw new Error(`connection closed; unread: ${JSON.stringify(this.buffer)}`);
      const left = until - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms; unread: ${JSON.stringify(this.buffer)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private take(): Reply | undefined {
    const lines: string[] = [];
    let pos = 0;
    for (;;) {
      const nl = this.buffer.indexOf('\n', pos);
      if (nl < 0) return undefined;
      const line = this.buffer.slice(pos, nl).replace(/\r$/, '');
      pos = nl + 1;
      lines.push(line);
      if (line.length < 4 || line[3] !== '-') {
        this.buffer = this.buffer.slice(pos);
        return { code: Number(line.slice(0, 3)), lines, text: lines.join('\n') };
      }
    }
  }

  async command(line: string): Promise<Reply> {
    this.write(`${line}\r\n`);
    return this.read();
  }

  /** Waits until the server closes the connection. */
  async waitClosed(timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > until) throw new Error('connection still open');
      await sleep(10);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Splits what the sink received into Hallmonitor's one prepended Received header and the rest,
 * which must be the original bytes.
 */
export function splitTrace(data: Buffer): { trace: string; rest: Buffer } {
  // The trace header is ours (ASCII), so plain string work is fine on this prefix.
  const head = data.subarray(0, Math.min(data.length, 2048)).toString('latin1');
  if (!head.startsWith('Received: ')) throw new Error('no Received header first');
  let end = head.indexOf('\r\n') + 2;
  while (head[end] === '\t' || head[end] === ' ') end = head.indexOf('\r\n', end) + 2;
  return { trace: head.slice(0, end), rest: data.subarray(end) };
}
