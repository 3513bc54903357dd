// Receive: the SMTP server the school's mail server relays through, and the only place that
// speaks SMTP. Only permitted clients may relay (IP allow-list, or SMTP AUTH over TLS); everyone
// else gets 5.7.1 for every recipient. The school a message belongs to is resolved once, from the
// sender (or the relay user), at MAIL FROM. DATA is answered only once the pipeline
// (src/pipeline.ts) has an outcome, turned into a reply by replyFor(): 250 when the next hop
// accepted the message or it is durably held, 4xx on any internal fault.
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession, type SMTPServerDataStream } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import type { Logger } from 'pino';
import addressparser from 'nodemailer/lib/addressparser';
import { inNetworks, type Cidr } from '../config/net.ts';
import type { Config } from '../config/index.ts';
import type { Envelope, Outcome, ReceivedMessage, SchoolRoute } from '../types.ts';
import type { Pipeline } from '../pipeline.ts';
import type { Metrics } from '../review/metrics.ts';
import { corkForThisTurn } from '../cork.ts';
import { RecentEvents } from '../recent-events.ts';
import { AuthGuard } from './auth-guard.ts';
import { EXAMINATION_FACTOR, MemoryBudget } from './memory-budget.ts';
import { stripChecked } from '../act/checked.ts';
import { passesThrough } from '../act/trace.ts';

/** The answer to DATA. */
export interface SmtpReply { code: number; text: string }

/** The SMTP reply for an outcome: every code and text the school's server can hear after DATA. */
export function replyFor(o: Outcome): SmtpReply {
  switch (o.kind) {
    case 'delivered':
      return { code: 250, text: `2.0.0 Ok: delivered as ${o.id}` };
    case 'held':
      // A refusal names the rule and the reference, never the personal data: the sender's own
      // server returns it to the sender.
      if (o.refusedAtSmtp) return { code: 550, text: `5.7.1 Not sent: it breaks the school's rule ${o.rule ?? 'policy'} (ref ${o.reference})` };
      return { code: 250, text: o.action === 'quarantine' ? `2.0.0 Ok: held for review as ${o.reference}` : `2.0.0 Ok: not delivered, recorded as ${o.reference}` };
    case 'refused':
      return { code: o.code, text: `${o.enhanced} ${o.reason} (ref ${o.id})` };
    case 'retry':
      if (o.why === 'not-checked') return { code: 451, text: `4.3.0 Message could not be checked, try again later (ref ${o.id})` };
      if (o.why === 'next-hop' && o.code) return { code: o.code, text: `${o.enhanced} ${o.reason} (ref ${o.id})` };
      if (o.why === 'busy') return { code: 451, text: `4.3.1 Gateway busy: not enough memory to check this message now, try again later (ref ${o.id})` };
      return { code: 451, text: `4.3.0 Temporary problem in the gateway, try again later (ref ${o.id})` };
  }
}

export interface Receiver {
  /** The address actually listened on (port 0 in tests becomes a real port). */
  address(): { host: string; port: number };
  /** Stop accepting, finish the transactions in flight, then close. */
  close(): Promise<void>;
  inFlight(): number;
  /** SMTP sessions open now (idle or in a transaction). */
  sessions(): number;
}

const MAX_RECIPIENTS = 1000;

/**
 * smtp-server pauses 100 ms before every greeting to catch clients that talk first (spam bots).
 * A mail server that opens a connection per message is then capped near 10 messages/s per
 * connection. The school's own servers (allow-listed networks) are not strangers: they are greeted
 * at once. Everyone else keeps the pause and gets "421 You talk too soon" if they talk into it.
 */
class GatewaySmtpServer extends SMTPServer {
  trusted: Cidr[] = [];
  proxyFrom: Cidr[] = [];
  untrustedDelayMs = 100;
  /** TLS is configured: AUTH is offered in EHLO only once the session is encrypted. */
  authAfterTls = false;
  /** Connections in all, and how many of them are kept for the allow-listed servers. */
  maxConnections = 200;
  reservedForTrusted = 0;
  /** Connections at once from one address outside the allow-list. */
  maxPerClient = 0;
  /** How long a session from outside the allow-list may last without authenticating. */
  untrustedSessionMs = 0;
  /** New connections a minute from one address outside the allow-list (0: no limit). */
  maxPerMinute = 0;
  private readonly recent = new RecentEvents(60_000);

  /**
   * Whether one more connection from this address may be served, in the spirit of Postfix's anvil:
   * the allow-listed servers may use every slot, and some slots are theirs alone; an address from
   * outside may hold only so many at once. undefined: admitted; otherwise the reason to refuse.
   */
  refusal(address: string, trusted: boolean, connections: Set<{ remoteAddress?: string }>): string | undefined {
    if (connections.size > this.maxConnections) return 'Too many connected clients, try again in a moment';
    if (trusted) return undefined;
    let outsiders = 0;
    let same = 0;
    for (const c of connections) {
      const a = c.remoteAddress ?? '';
      if (!inNetworks(a, this.trusted)) outsiders++;
      if (a === address) same++;
    }
    if (outsiders > this.maxConnections - this.reservedForTrusted) return 'Too many connected clients, try again in a moment';
    if (this.maxPerClient && same > this.maxPerClient) return 'Too many connections from your address, try again in a moment';
    if (this.maxPerMinute && this.recent.count(address) > this.maxPerMinute) return 'Too many connections from your address in the last minute, try again later';
    return undefined;
  }

  override connect(socket: Socket, socketOptions: Record<string, unknown>): void {
    const connection = new SMTPConnection(this, socket, socketOptions) as unknown as SMTPConnection & {
      remoteAddress: string;
      _setListeners(cb: () => void): void;
      connectionReady(): void;
      send(code: number, text: string, ctx?: unknown): void;
      init(): void;
    };
    const self = this as unknown as { connections: Set<unknown>; _onError(e: Error): void; _onClientConnect(d: unknown): void; options: SMTPServerOptions };
    self.connections.add(connection);
    connection.on('error', (err: Error) => self._onError(err));
    connection.on('connect', (data: unknown) => self._onClientConnect(data));
    keepAddressesAsSent(connection as unknown as AddressParser);
    repliesInOneWrite(connection, socket);
    if (this.authAfterTls) offerAuthOnlyOverTls(connection as unknown as EhloHandler);
    const trusted = inNetworks(connection.remoteAddress, this.trusted);
    const delay = trusted ? 0 : this.untrustedDelayMs;
    connection._setListeners(() => {
      const refused = this.refusal(connection.remoteAddress, trusted, self.connections as Set<{ remoteAddress?: string }>);
      if (refused) return connection.send(421, `${self.options.name} ${refused}`, false);
      // A stranger cannot relay (5.7.1 at RCPT) and has nothing to do here for long: one byte a
      // second must not keep its session open past the idle timeout.
      if (!trusted && this.untrustedSessionMs) {
        const conn = connection as unknown as { session: { user?: unknown }; send(code: number, text: string): void };
        setTimeout(() => {
          if (!conn.session?.user) conn.send(421, `${self.options.name} Session too long for a client that may not relay, closing`);
        }, this.untrustedSessionMs).unref();
      }
      if (delay === 0) return connection.connectionReady();
      setTimeout(() => connection.connectionReady(), delay).unref();
    });
  }

  /** PROXY protocol headers are accepted only from the configured load balancer networks. */
  _expectsProxyHeader(socket: Socket): boolean {
    return this.proxyFrom.length > 0 && inNetworks(socket.remoteAddress ?? '', this.proxyFrom);
  }
}

/**
 * The replies of one turn of the event loop go out in one write: a school's Postfix pipelines
 * (RFC 2920) MAIL, RCPT and DATA, and smtp-server answers each with its own write, a system call
 * apiece.
 */
function repliesInOneWrite(connection: { send(code: number, ...rest: unknown[]): void }, socket: Socket): void {
  const send = connection.send.bind(connection);
  connection.send = (code: number, ...rest: unknown[]) => {
    corkForThisTurn(socket);
    send(code, ...rest);
  };
}

interface EhloHandler {
  secure: boolean;
  handler_EHLO(command: unknown, callback: () => void): void;
  _isSupported(command: string): boolean;
}

/**
 * smtp-server refuses AUTH before STARTTLS (538) but still lists it in the EHLO reply of a plain
 * session, so a client that trusts the list sends its password in clear before being refused.
 * Until the session is encrypted, its EHLO reply leaves AUTH out.
 */
function offerAuthOnlyOverTls(connection: EhloHandler): void {
  const ehlo = connection.handler_EHLO.bind(connection);
  connection.handler_EHLO = (command, callback) => {
    if (connection.secure) return ehlo(command, callback);
    const isSupported = connection._isSupported;
    connection._isSupported = (c) => (String(c).toUpperCase() === 'AUTH' ? false : isSupported.call(connection, c));
    try {
      ehlo(command, callback);
    } finally {
      connection._isSupported = isSupported;
    }
  };
}

interface AddressParser {
  _parseAddressCommand(name: string, command: Buffer | string): false | { address: string; args: unknown };
}

/**
 * smtp-server rewrites an A-label domain (`xn--bcher-kva.example`) into Unicode and normalises
 * IPv6 literals in the address it hands on. The envelope must reach the next hop as the school's
 * server wrote it (a Unicode address would need SMTPUTF8 the sender never asked for), so once
 * smtp-server has validated an ASCII address, the address is taken verbatim from the command.
 */
function keepAddressesAsSent(connection: AddressParser): void {
  const parse = connection._parseAddressCommand.bind(connection);
  connection._parseAddressCommand = (name, command) => {
    const parsed = parse(name, command);
    if (parsed && parsed.address) {
      const raw = pathInCommand(command.toString());
      if (raw !== undefined && isAscii(raw)) parsed.address = raw;
    }
    return parsed;
  };
}

/** The address between < and > of MAIL FROM / RCPT TO, without an RFC 5321 source route. */
function pathInCommand(command: string): string | undefined {
  const open = command.indexOf('<');
  const close = open < 0 ? -1 : command.indexOf('>', open + 1);
  if (close < 0) return undefined;
  const path = command.slice(open + 1, close);
  if (!path.startsWith('@')) return path;
  const colon = path.indexOf(':');
  return colon < 0 ? undefined : path.slice(colon + 1);
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7e) return false;
  return true;
}

export interface ReceiverSchools {
  /** The school a sender (or relay user) belongs to (src/tenants.ts); undefined refuses the message. */
  resolve(sender: string, user?: string): SchoolRoute | undefined;
  /** false for a single school that lists no domains: every sender is its own, never refused. */
  checksSenders: boolean;
}

type SchoolSession = SMTPServerSession & { hallmonitorSchool?: SchoolRoute };

/** `reusePort`: one of several relay workers, each with its own listening socket on the one port (SO_REUSEPORT). */
export async function startReceiver(config: Config, journey: Pipeline, logger: Logger, schools: ReceiverSchools, opts: { metrics?: Metrics; reusePort?: boolean } = {}): Promise<Receiver> {
  const relay = config.relay;
  const pending = new Set<Promise<unknown>>();
  const tlsOn = !!relay.tls;
  const users = new Map(relay.users.map((u) => [u.username, createHash('sha256').update(u.password).digest()]));
  const guard = new AuthGuard(relay.auth);
  const budget = new MemoryBudget(config.limits.memoryMb * 1024 * 1024);
  opts.metrics?.gauge('hallmonitor_memory_reserved_bytes', 'Memory reserved by the messages being checked now (limits.memory_mb is the ceiling).', () => [{ value: budget.used }]);

  const server = new GatewaySmtpServer({
    name: config.hostname,
    banner: 'Hallmonitor outbound gateway',
    logger: false,
    secure: false,
    key: relay.tls?.key,
    cert: relay.tls?.cert,
    disabledCommands: tlsOn ? (users.size ? [] : ['AUTH']) : ['STARTTLS', 'AUTH'],
    hideSTARTTLS: !tlsOn,
    // DSN parameters (RET, ENVID, NOTIFY, ORCPT) are passed on to the next hop, so say so.
    hideDSN: false,
    // REQUIRETLS (RFC 8689) is not passed on: do not offer a promise the next hop may not keep.
    hideREQUIRETLS: true,
    authOptional: true,
    allowInsecureAuth: false,
    authMethods: ['PLAIN', 'LOGIN'],
    size: relay.maxMessageBytes,
    maxClients: relay.maxClients,
    disableReverseLookup: true,
    useProxy: relay.proxyProtocolFrom.length > 0 ? ['*'] : false,
    socketTimeout: 5 * 60 * 1000,
    closeTimeout: (relay.dataTimeoutSeconds + 10) * 1000,

    // smtp-server's default onConnect answers on the next turn of the event loop, so even an
    // allow-listed client whose first bytes were already buffered got "421 You talk too soon".
    // Answering at once makes the greeting go out before any client bytes are read.
    onConnect(_session, callback) {
      callback();
    },

    onAuth(auth, session, callback) {
      const user = auth.username ?? '';
      // The school's own (allow-listed) servers are never locked out by a user name someone else
      // guessed at; their own address still counts its failures.
      const ownServer = inNetworks(session.remoteAddress, relay.allowNetworks);
      const lockedUntil = guard.lockedUntil(session.remoteAddress, ownServer ? '' : user);
      if (lockedUntil) {
        opts.metrics?.authFailures.inc({ reason: 'auth_locked_out' });
        logger.warn({ event: 'auth-locked-out', client: session.remoteAddress, until: new Date(lockedUntil).toISOString() }, 'relay authentication refused: too many failures');
        return setTimeout(() => callback(Object.assign(new Error('4.7.0 Too many failed attempts, try again later'), { responseCode: 454 })), relay.auth.firstDelayMs).unref();
      }
      const expected = users.get(user);
      const given = createHash('sha256').update(auth.password ?? '').digest();
      if (!session.secure || !expected || !timingSafeEqual(expected, given)) {
        const { delayMs, locked } = guard.failed(session.remoteAddress, user);
        opts.metrics?.authFailures.inc({ reason: 'auth_failed' });
        if (locked) opts.metrics?.authLockouts.inc();
        logger.warn({ event: locked ? 'auth-locked-out' : 'auth-failed', client: session.remoteAddress }, locked ? 'relay authentication failed; address and user name locked out' : 'relay authentication failed');
        // Each wrong answer later than the last, and a session that keeps guessing is closed.
        const fails = ((session as { hallmonitorAuthFailures?: number }).hallmonitorAuthFailures ?? 0) + 1;
        (session as { hallmonitorAuthFailures?: number }).hallmonitorAuthFailures = fails;
        return setTimeout(() => {
          callback(Object.assign(new Error('5.7.8 Authentication credentials invalid'), { responseCode: 535 }));
          if (fails >= 3) {
            const conn = [...(server as unknown as { connections: Set<{ id: string; send(code: number, text: string): void; close(): void }> }).connections].find((c) => c.id === session.id);
            conn?.send(421, `4.7.0 ${config.hostname} Too many failed attempts, closing the connection`);
            conn?.close();
          }
        }, delayMs).unref();
      }
      guard.succeeded(session.remoteAddress, user);
      callback(null, { user });
    },

    onMailFrom(address, session, callback) {
      const s = session as SchoolSession;
      s.hallmonitorSchool = undefined;
      const user = typeof session.user === 'string' ? session.user : undefined;
      if (!schools.checksSenders) {
        s.hallmonitorSchool = schools.resolve(address.address, user);
        return callback();
      }
      if (!address.address) return callback(); // a bounce (<>): its From header decides, after DATA
      const school = schools.resolve(address.address, user);
      if (!school) {
        // Never inspected under another school's roster: refused before any content is taken.
        logger.warn({ event: 'unknown-tenant', client: session.remoteAddress }, 'sender domain belongs to no school served here');
        return callback(Object.assign(new Error('5.7.1 Sender domain is not a school served by this gateway'), { responseCode: 550 }));
      }
      s.hallmonitorSchool = school;
      callback();
    },

    onRcptTo(address, session, callback) {
      const permitted = inNetworks(session.remoteAddress, relay.allowNetworks) || !!session.user;
      if (!permitted) {
        logger.warn({ event: 'relay-denied', client: session.remoteAddress }, 'client is not permitted to relay');
        return callback(Object.assign(new Error('5.7.1 Relay access denied'), { responseCode: 550 }));
      }
      if (session.envelope.rcptTo.length >= MAX_RECIPIENTS) {
        return callback(Object.assign(new Error('4.5.3 Too many recipients, send the rest in another message'), { responseCode: 452 }));
      }
      callback();
    },

    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      let bytes = 0;
      // The size the client declared (SIZE= on MAIL FROM, RFC 1870; Postfix and Exchange send it):
      // a large message is received straight into one buffer of that size, instead of chunks
      // joined at the end, which for that moment hold it twice. Counted against the memory budget
      // as soon as it is made; a message larger than declared goes on in chunks.
      const declared = declaredSize(session, relay.maxMessageBytes);
      let whole: Buffer | undefined;
      let filled = 0;
      // A deadline on the whole of DATA, and a floor on its speed: a client trickling a byte a
      // second would otherwise hold a slot (and the message's memory) for as long as it likes.
      // Past either, it hears 421 4.4.2 and the connection is closed; nothing half-received
      // reaches the pipeline, the next hop or the store, and the school's server retries.
      const started = Date.now();
      let cut = false;
      const arrival = budget.arrival();
      const cutOff = (why: string, enhanced = '4.4.2') => {
        if (cut) return;
        cut = true;
        clearInterval(watch);
        chunks.length = 0;
        whole = undefined;
        arrival.release();
        const seconds = Math.round((Date.now() - started) / 1000);
        logger.warn({ event: enhanced === '4.3.1' ? 'memory-budget-full' : 'data-cut-off', client: session.remoteAddress, bytes, seconds }, why);
        const conn = [...(server as unknown as { connections: Set<{ id: string; send(code: number, text: string): void; close(): void }> }).connections].find((c) => c.id === session.id);
        conn?.send(421, `${enhanced} ${config.hostname} ${why}, closing the connection; try again later`);
        conn?.close();
      };
      const watch = setInterval(() => {
        const elapsed = (Date.now() - started) / 1000;
        if (elapsed > relay.dataTimeoutSeconds) cutOff('the message took too long to arrive');
        else if (elapsed >= relay.minDataRateAfterSeconds && bytes / elapsed < relay.minDataRate) cutOff('the message is arriving too slowly');
      }, 250);
      watch.unref();
      stream.on('data', (c: Buffer) => {
        if (cut) return;
        // Past the limit the bytes are dropped (and not counted); smtp-server answers 552 itself.
        if (bytes + c.length <= relay.maxMessageBytes) {
          if (bytes === 0 && declared) {
            if (!arrival.add(declared)) {
              opts.metrics?.memoryRefusals.inc();
              return cutOff('not enough memory for another large message now', '4.3.1');
            }
            whole = Buffer.allocUnsafe(declared);
          }
          if (whole && filled + c.length <= whole.length) {
            filled += c.copy(whole, filled);
          } else {
            if (!arrival.add(c.length)) {
              opts.metrics?.memoryRefusals.inc();
              return cutOff('not enough memory for another large message now', '4.3.1');
            }
            if (whole) chunks.push(whole.subarray(0, filled));
            whole = undefined;
            chunks.push(c);
          }
        }
        bytes += c.length;
      });
      stream.on('error', () => {
        clearInterval(watch);
        arrival.release();
      });
      stream.on('close', () => {
        clearInterval(watch);
        arrival.release();
      });
      stream.on('end', () => {
        clearInterval(watch);
        // Arrived: the bytes now count as part of the examination's reservation below.
        arrival.release();
        if (cut) return; // already answered 421 and closed
        if ((stream as SMTPServerDataStream).sizeExceeded) {
          return callback(Object.assign(new Error(`5.3.4 Message too big for this gateway (limit ${relay.maxMessageBytes} bytes)`), { responseCode: 552 }));
        }
        let message: ReceivedMessage;
        let school: SchoolRoute | undefined;
        try {
          message = {
          id: newMessageId(),
          envelope: toEnvelope(session),
          // A loop-guard header brought in from outside is never trusted, inspected or passed on.
          raw: stripChecked(whole ? exactly(whole, filled) : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, bytes)),
          receivedAt: new Date(),
          client: {
            address: session.remoteAddress,
            hostname: session.clientHostname,
            helo: session.hostNameAppearsAs,
            tls: !!session.secure,
            user: typeof session.user === 'string' ? session.user : undefined,
          },
          };
          const passes = passesThrough(message.raw, config.hostname);
          if (passes >= 2) {
            logger.error({ event: 'routing-loop', id: message.id, client: session.remoteAddress, passes }, 'this message has already passed through the gateway twice: a mail flow rule sends it back (deploy/CONNECT.md, the rule\'s exception)');
            return callback(Object.assign(new Error('5.4.6 Routing loop: this message has already passed through Hallmonitor twice; the mail flow rule that sends mail here needs its exception (see deploy/CONNECT.md)'), { responseCode: 554 }));
          }
          school = (session as SchoolSession).hallmonitorSchool ?? schools.resolve(headerFromAddress(message.raw), message.client.user);
          if (!school) {
            logger.warn({ event: 'unknown-tenant', id: message.id, client: session.remoteAddress }, 'bounce from a domain that belongs to no school served here');
            return callback(Object.assign(new Error('5.7.1 Sender domain is not a school served by this gateway'), { responseCode: 550 }));
          }
          message.tenant = school.id;
        } catch (err) {
          // Fail closed: never crash, never 250 on a fault.
          logger.error({ event: 'internal-error', err: (err as Error).message }, 'could not take the message; upstream will retry');
          return callback(Object.assign(new Error('4.3.0 Temporary problem in the gateway, try again later'), { responseCode: 451 }));
        }
        chunks.length = 0;
        whole = undefined;
        const route = school!;
        const work = budget.reserve(bytes * EXAMINATION_FACTOR, config.limits.memoryWaitSeconds * 1000)
          .then((release) => {
            if (!release) {
              opts.metrics?.memoryRefusals.inc();
              logger.warn({ event: 'memory-budget-full', id: message.id, bytes, reservedMb: Math.round(budget.used / 1048576) }, 'not enough memory to check this message now; upstream will retry');
              return { kind: 'retry', id: message.id, why: 'busy' } as Outcome;
            }
            return journey(message, route).finally(release);
          })
          .catch((err: Error): Outcome => {
            // Fail closed: any fault after DATA is a retry for the upstream, never a 250.
            logger.error({ event: 'internal-error', id: message.id, err: err.message }, 'message processing failed; upstream will retry');
            return { kind: 'retry', id: message.id, why: 'not-stored' };
          })
          .then((outcome) => {
            const reply = replyFor(outcome);
            if (outcome.log) logger.info({ ...outcome.log, reply: reply.code }, 'message outcome');
            if (reply.code >= 200 && reply.code < 300) callback(null, reply.text);
            else callback(Object.assign(new Error(reply.text), { responseCode: reply.code }));
          });
        pending.add(work);
        work.finally(() => pending.delete(work));
      });
    },
  });
  server.trusted = relay.allowNetworks;
  server.authAfterTls = tlsOn;
  server.maxConnections = relay.maxClients;
  server.reservedForTrusted = relay.reservedForAllowed;
  server.maxPerClient = relay.maxConnectionsPerClient;
  server.untrustedSessionMs = relay.untrustedSessionSeconds * 1000;
  server.maxPerMinute = relay.maxConnectionsPerMinute;
  server.proxyFrom = relay.proxyProtocolFrom;
  server.untrustedDelayMs = relay.untrustedGreetingDelayMs;
  server.on('error', (err: Error) => logger.debug({ event: 'smtp-error', err: err.message }, 'smtp connection error'));

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen({ port: config.listen.port, host: config.listen.host, ...(opts.reusePort ? { reusePort: true } : {}) }, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const addr = server.server.address();
  const bound = typeof addr === 'object' && addr ? { host: addr.address, port: addr.port } : { host: config.listen.host, port: config.listen.port };

  return {
    address: () => bound,
    inFlight: () => pending.size,
    sessions: () => (server as unknown as { connections: Set<unknown> }).connections.size,
    async close() {
      // Stop accepting at once; from now on smtp-server answers every new command with 421.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // A transaction in flight is one whose DATA is still arriving or waiting for its outcome
      // (smtp-server's _dataStream): it is finished and answered. Every other session is told
      // 421 and closed now, and each busy one as soon as its reply is out. (Closing everything
      // once the pipeline had nothing pending cut off messages still being received, and closed
      // idle sessions without a word.) smtp-server's own close timeout bounds the wait.
      const connections = (server as unknown as { connections: Set<{ _dataStream?: unknown; send(code: number, text: string): void; close(): void }> }).connections;
      for (;;) {
        for (const c of [...connections]) {
          if (c._dataStream) continue;
          c.send(421, `${config.hostname} Service shutting down, try again later`);
          c.close();
        }
        if (connections.size === 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      while (pending.size) await Promise.allSettled([...pending]);
      await closed;
    },
  };
}

function toEnvelope(session: SMTPServerSession): Envelope {
  const from = session.envelope.mailFrom;
  const args = (from && typeof from === 'object' && from.args ? (from.args as Record<string, string>) : undefined) ?? {};
  const ret = args.RET?.toUpperCase();
  const body = args.BODY?.toUpperCase();
  return {
    mailFrom: from && typeof from === 'object' ? from.address : '',
    mailFromParams: {
      ret: ret === 'FULL' || ret === 'HDRS' ? ret : undefined,
      envid: args.ENVID || undefined,
      smtputf8: 'SMTPUTF8' in args || undefined,
      body: body === '8BITMIME' || body === '7BIT' ? body : undefined,
    },
    rcptTo: session.envelope.rcptTo.map((r) => {
      const a = (r.args as Record<string, string> | false) || {};
      return {
        address: r.address,
        notify: a.NOTIFY ? a.NOTIFY.toUpperCase().split(',') : undefined,
        orcpt: a.ORCPT || undefined,
      };
    }),
  };
}

/** The address in the From header, read from the header block only (for bounces, whose MAIL FROM is <>). */
export function headerFromAddress(raw: Buffer): string {
  let end = raw.indexOf('\r\n\r\n');
  if (end < 0) end = raw.indexOf('\n\n');
  const head = raw.subarray(0, end < 0 ? Math.min(raw.length, 65536) : Math.min(end, 65536)).toString('latin1');
  const lines = head.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].slice(0, 5).toLowerCase() !== 'from:') continue;
    let value = lines[i].slice(5);
    while (i + 1 < lines.length && (lines[i + 1].startsWith(' ') || lines[i + 1].startsWith('\t'))) value += lines[++i];
    return addressparser(value, { flatten: true })[0]?.address ?? '';
  }
  return '';
}

/** Short, unique, sortable-enough id: appears in logs, the trace header and incident references. */
export function newMessageId(): string {
  // Random bytes drawn 4 KB at a time: one getrandom call per 800 messages, not one per message
  // (it was 2% of the relay's CPU in the profile, bench/relay/ANALYSIS.md).
  if (idAt + 5 > idPool.length) {
    idPool = randomBytes(4096);
    idAt = 0;
  }
  const random = idPool.toString('hex', idAt, idAt + 5);
  idAt += 5;
  return `${Date.now().toString(36)}${random}`.toUpperCase();
}
let idPool = Buffer.alloc(0);
let idAt = 0;

/** A message's declared size (SIZE= on MAIL FROM) when it is worth receiving into one buffer: 1 MB or more, within the limit. */
function declaredSize(session: SMTPServerSession, max: number): number {
  const from = session.envelope.mailFrom as { args?: Record<string, string> } | false;
  const size = Number(from ? from.args?.SIZE : undefined);
  return Number.isSafeInteger(size) && size >= 1 << 20 && size <= max ? size : 0;
}

/** The first `n` bytes of a buffer received by declared size; copied out when the client declared far more than it sent. */
function exactly(whole: Buffer, n: number): Buffer {
  if (n === whole.length) return whole;
  return whole.length - n <= 64 * 1024 ? whole.subarray(0, n) : Buffer.from(whole.subarray(0, n));
}
