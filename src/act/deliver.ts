// Delivery to the next hop (the school's smart host: Microsoft 365, Google, the provider) with
// nodemailer's SMTP client. The envelope is kept exactly; the message bytes are sent unchanged
// after one prepended trace header, so DKIM signatures still verify.
import { lookup } from 'node:dns/promises';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { NextHopConfig } from '../config/index.ts';
import type { Envelope } from '../types.ts';
import { corkForThisTurn } from '../cork.ts';

export interface RecipientRefusal { address: string; code: number; response: string }

export type DeliveryResult =
  | { ok: true; accepted: string[]; refused: RecipientRefusal[]; response: string; ms: number }
  /** Nothing was delivered. `code` is what the upstream should hear: 4xx to retry, 5xx to bounce. */
  | { ok: false; code: number; enhanced: string; reason: string; detail: string; ms: number; kind: FailureKind };

/** For the metrics: why the next hop did not take the message. */
export type FailureKind = 'unreachable' | 'timeout' | 'deferred' | 'refused';

export interface Deliverer {
  deliver(envelope: Envelope, parts: Buffer[]): Promise<DeliveryResult>;
  /** Connects, says EHLO and quits: for the health check. */
  probe(): Promise<{ ok: boolean; detail: string }>;
  close(): void;
}

type Conn = InstanceType<typeof SMTPConnection>;

interface SmtpError extends Error { code?: string; responseCode?: number; response?: string; rejectedErrors?: SmtpError[]; recipient?: string }

/**
 * A small pool of idle connections to the next hop. A connection is reused only after a clean
 * transaction (RSET succeeded); anything unexpected closes it.
 */
export function createDeliverer(nextHop: NextHopConfig, opts: { hostname: string; maxIdle?: number; idleMs?: number; logger?: { debug: (o: object, m: string) => void } }): Deliverer {
  const idle: Conn[] = [];
  /**
   * How long an idle connection is kept. Long enough for a burst, short enough that a next hop
   * (or a firewall on the way) that silently forgets an idle session does not leave a dead
   * connection in the pool: the next message on it would wait out the whole socket timeout.
   * (Postfix caches its own SMTP connections for 2 s.)
   */
  const idleMs = opts.idleMs ?? 10_000;
  const idleTimers = new WeakMap<Conn, NodeJS.Timeout>();
  /** The envelope each connection is sending right now, for the per-recipient parameters. */
  const sending = new WeakMap<Conn, Envelope>();
  const maxIdle = opts.maxIdle ?? 8;
  let closed = false;

  const connect = async (): Promise<Conn> => {
    // One address family only (next_hop.family): the name resolved to it here, the name kept for TLS.
    const host = nextHop.family ? (await lookup(nextHop.host, { family: nextHop.family })).address : nextHop.host;
    return new Promise((resolve, reject) => {
      const conn = new SMTPConnection({
        host,
        ...(nextHop.family ? { servername: nextHop.host } : {}),
        localAddress: nextHop.localAddress,
        port: nextHop.port,
        secure: nextHop.secure,
        name: opts.hostname,
        requireTLS: nextHop.starttls === 'required',
        ignoreTLS: nextHop.starttls === 'off',
        opportunisticTLS: nextHop.starttls === 'opportunistic',
        tls: { rejectUnauthorized: nextHop.rejectUnauthorized, ...(nextHop.clientCertificate ?? {}) },
        connectionTimeout: Math.min(30_000, nextHop.timeoutSeconds * 1000),
        greetingTimeout: Math.min(30_000, nextHop.timeoutSeconds * 1000),
        socketTimeout: nextHop.timeoutSeconds * 1000,
      } as ConstructorParameters<typeof SMTPConnection>[0]);
      let settled = false;
      conn.once('error', (err: Error) => {
        if (!settled) {
          settled = true;
          reject(err);
        }
      });
      keepEnvelopeParams(conn, sending);
      conn.connect(() => {
        const ready = () => {
          settled = true;
          conn.removeAllListeners('error');
          conn.on('error', () => conn.close());
          // An idle connection that the next hop closes is simply dropped from the pool. One
          // listener for the connection's life: adding one per reuse leaked listeners.
          conn.once('end', () => remove(conn));
          resolve(conn);
        };
        if (!nextHop.auth) return ready();
        conn.login({ user: nextHop.auth.user, pass: nextHop.auth.pass }, (err) => {
          if (err) {
            settled = true;
            conn.close();
            return reject(err);
          }
          ready();
        });
      });
    });
  };

  const take = async (): Promise<Conn> => {
    while (idle.length) {
      const c = idle.pop()!;
      clearTimeout(idleTimers.get(c));
      if (isUsable(c)) return c;
    }
    return connect();
  };

  const giveBack = (c: Conn) => {
    if (closed || idle.length >= maxIdle || !isUsable(c)) return c.close();
    c.reset((err) => {
      if (err || closed || idle.length >= maxIdle) return c.close();
      idle.push(c);
      const timer = setTimeout(() => {
        remove(c);
        c.quit();
      }, idleMs);
      timer.unref();
      idleTimers.set(c, timer);
    });
  };
  const remove = (c: Conn) => {
    const i = idle.indexOf(c);
    if (i >= 0) idle.splice(i, 1);
  };

  async function deliver(envelope: Envelope, parts: Buffer[]): Promise<DeliveryResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    let conn: Conn;
    try {
      conn = await take();
    } catch (err) {
      // A refusal before MAIL FROM (the greeting, EHLO, STARTTLS, our login) is about the
      // gateway's own connection, never this message: a rotated password or SMTP AUTH turned off
      // must not bounce every message the school sends. Deferred, as Postfix does
      // (smtp_sasl_auth_soft_bounce), so the upstream keeps the mail until it is put right.
      return failure(err as SmtpError, elapsed(), 'connecting to the next hop', true);
    }
    const size = parts.reduce((n, p) => n + p.length, 0);
    // RET and ENVID go through nodemailer; NOTIFY and ORCPT differ per recipient and are added
    // to each RCPT TO by keepEnvelopeParams.
    const dsn = envelope.mailFromParams.ret || envelope.mailFromParams.envid
      ? { ret: envelope.mailFromParams.ret, envid: envelope.mailFromParams.envid }
      : undefined;
    sending.set(conn, envelope);
    return new Promise<DeliveryResult>((resolve) => {
      conn.send(
        {
          from: envelope.mailFrom,
          to: envelope.rcptTo.map((r) => r.address),
          size,
          use8BitMime: envelope.mailFromParams.body === '8BITMIME',
          dsn,
        } as Parameters<Conn['send']>[0],
        messageStream(conn, parts),
        (err, info) => {
          sending.delete(conn);
          if (err) {
            conn.close();
            if ((err as SmtpError & { partlyDeferred?: boolean }).partlyDeferred) {
              return resolve({ ok: false, code: 451, enhanced: '4.4.2', reason: 'Next hop deferred some recipients, try again later', detail: 'next hop deferred some recipients; message abandoned before its end so nobody received it', ms: elapsed(), kind: 'deferred' });
            }
            return resolve(failure(err as SmtpError, elapsed(), 'sending to the next hop'));
          }
          const refused: RecipientRefusal[] = ((info as { rejectedErrors?: SmtpError[] }).rejectedErrors ?? []).map((e) => ({
            address: e.recipient ?? '',
            code: e.responseCode ?? 550,
            response: e.response ?? e.message,
          }));
          giveBack(conn);
          resolve({ ok: true, accepted: (info.accepted ?? []).map(String), refused, response: info.response ?? '', ms: elapsed() });
        },
      );
    });
  }

  async function probe(): Promise<{ ok: boolean; detail: string }> {
    try {
      const c = await connect();
      c.quit();
      return { ok: true, detail: `${nextHop.host}:${nextHop.port} answered` };
    } catch (err) {
      return { ok: false, detail: `${nextHop.host}:${nextHop.port}: ${(err as Error).message}` };
    }
  }

  return {
    deliver,
    probe,
    close() {
      closed = true;
      for (const c of idle.splice(0)) {
        clearTimeout(idleTimers.get(c));
        c.quit();
      }
    },
  };
}

/**
 * The message bytes for one transaction. nodemailer reads them only once every RCPT TO has been
 * answered; if the next hop deferred some recipients (4xx) while accepting others, the stream
 * fails before the first byte, nodemailer never sends the final dot, and the connection is
 * closed: nobody receives the message, and the school's server hears 451 and retries it for
 * everybody. (Answering 250 would lose it for the deferred recipients; delivering and answering
 * 451 would duplicate it for the others.)
 */
function messageStream(conn: Conn, parts: Buffer[]): Readable {
  let i = 0;
  return new Readable({
    read() {
      if (i === 0) {
        const rejected = (conn as unknown as { _envelope?: { rejectedErrors?: SmtpError[] } })._envelope?.rejectedErrors ?? [];
        if (rejected.some((e) => (e.responseCode ?? 0) >= 400 && (e.responseCode ?? 0) < 500)) {
          return this.destroy(Object.assign(new Error('next hop deferred some recipients'), { partlyDeferred: true }));
        }
        // The trace header, the message and the final dot in one write where they come in one turn
        // (three system calls for a small message otherwise).
        corkForThisTurn((conn as unknown as { _socket?: Socket })._socket);
      }
      this.push(i < parts.length ? parts[i++] : null);
    },
  });
}

function isUsable(c: Conn): boolean {
  const internal = c as unknown as { _destroyed?: boolean; _closing?: boolean; stage?: string };
  return !internal._destroyed && !internal._closing;
}

/**
 * nodemailer's client gives every RCPT TO the same DSN parameters and adds SMTPUTF8 only for
 * non-ASCII addresses. The school's server may have asked for a different NOTIFY per recipient,
 * an ORCPT per recipient, and SMTPUTF8 for a message whose headers (not addresses) are UTF-8.
 * Each command is completed here, on its way out, where the next hop advertised the extension.
 */
function keepEnvelopeParams(conn: Conn, sending: WeakMap<Conn, Envelope>): void {
  const c = conn as unknown as { _sendCommand(str: string, logStr?: string): void; _supportedExtensions: string[] };
  const send = c._sendCommand.bind(c);
  c._sendCommand = (str, logStr) => {
    const envelope = sending.get(conn);
    if (envelope) str = withEnvelopeParams(str, envelope, c._supportedExtensions ?? []);
    send(str, logStr);
  };
}

function withEnvelopeParams(command: string, envelope: Envelope, extensions: string[]): string {
  if (command.startsWith('MAIL FROM:<')) {
    if (envelope.mailFromParams.smtputf8 && extensions.includes('SMTPUTF8') && !command.includes(' SMTPUTF8')) return `${command} SMTPUTF8`;
    return command;
  }
  if (!command.startsWith('RCPT TO:<') || !extensions.includes('DSN')) return command;
  const address = command.slice(9, command.indexOf('>', 9));
  const rcpt = envelope.rcptTo.find((r) => r.address === address);
  if (!rcpt) return command;
  let params = '';
  if (rcpt.notify?.length) params += ` NOTIFY=${rcpt.notify.join(',')}`;
  if (rcpt.orcpt) params += ` ORCPT=${xtext(rcpt.orcpt)}`;
  return command + params;
}

/** RFC 3461 xtext: "+", "=" and anything outside printable ASCII as +XX. */
function xtext(value: string): string {
  let out = '';
  for (const b of Buffer.from(value, 'utf8')) {
    out += b < 0x21 || b > 0x7e || b === 0x2b || b === 0x3d ? `+${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b);
  }
  return out;
}

/**
 * Maps a next-hop failure to what the upstream should hear. Only 5xx from the next hop about this
 * message (MAIL FROM, RCPT TO, the message) is permanent; while `connecting`, every refusal is
 * temporary.
 */
function failure(err: SmtpError, ms: number, doing: string, connecting = false): DeliveryResult {
  if (!err.responseCode && err.code === 'EMESSAGE' && err.message.includes('larger than allowed')) {
    // nodemailer refuses, before MAIL FROM, a message over the SIZE the next hop advertised.
    // Retrying cannot help: it is a permanent refusal, as if the next hop had said 552.
    return { ok: false, code: 552, enhanced: '5.3.4', reason: 'Message too big for the next hop', detail: `${doing}: ${err.message}`, ms, kind: 'refused' };
  }
  const code = err.responseCode;
  const response = (err.response ?? '').replace(/[\r\n]+/g, ' ').slice(0, 300);
  if (code && code >= 500 && code < 600 && !connecting) {
    const enhanced = /^\d{3}[ -](\d\.\d{1,3}\.\d{1,3})/.exec(response)?.[1] ?? '5.0.0';
    const text = response.replace(/^\d{3}[ -](\d\.\d{1,3}\.\d{1,3} )?/, '');
    return { ok: false, code, enhanced, reason: text || 'Refused by the next hop', detail: redactAddresses(`${doing}: ${response || err.message}`), ms, kind: 'refused' };
  }
  const enhanced = code && code >= 400 ? '4.4.2' : err.code === 'ETIMEDOUT' ? '4.4.1' : '4.4.1';
  const reason =
    err.code === 'ETIMEDOUT'
      ? 'Next hop timed out, try again later'
      : code && code >= 500
        ? "Next hop refused the gateway's connection or login, try again later"
        : code
          ? 'Next hop deferred the message, try again later'
          : 'Next hop unavailable, try again later';
  const kind: FailureKind = err.code === 'ETIMEDOUT' ? 'timeout' : code ? 'deferred' : 'unreachable';
  return { ok: false, code: 451, enhanced, reason, detail: redactAddresses(`${doing}: ${err.code ?? ''} ${response || err.message}`.trim()), ms, kind };
}

/**
 * `detail` goes to the log, and next hops echo addresses in their replies ("<jane.pupil@…>:
 * Recipient address rejected"). Every local part becomes its first character and `***`
 * (`j***@home.example`), as elsewhere in Hallmonitor's logs. Byte-level, no RegExp.
 */
export function redactAddresses(text: string): string {
  const stop = (ch: string) => ' \t\r\n<>"\'(),:;[]'.includes(ch);
  let out = '';
  let from = 0;
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    if (text[at - 1] === '"') {
      // A quoted local part: "jane pupil"@home.example
      const open = text.lastIndexOf('"', at - 2);
      if (open >= from) {
        out += `${text.slice(from, open)}"***"`;
        from = at;
      }
      continue;
    }
    let start = at;
    while (start > from && !stop(text[start - 1])) start--;
    if (start === at) continue;
    out += `${text.slice(from, start)}${text[start]}***`;
    from = at;
  }
  return out + text.slice(from);
}
