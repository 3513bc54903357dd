// Hallmonitor's configuration: one YAML file, validated completely at start-up.
// Bad configuration refuses to start with errors that name the key and the problem; the gateway
// never starts half-configured. Environment variables override secrets and ports (see ENV below).
import { DETECTORS, checkRegistry, patternDetectors } from '../../detectors/index.ts';
import { detectorFromDocument } from '../../detectors/library/document.ts';
import type { PatternDetector } from '../../detectors/library/types.ts';
import { exampleFailures } from '../detect/examples.ts';
import { readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { isIP } from 'node:net';
import type { DkimSettings } from '../act/dkim.ts';
import { availableParallelism, totalmem } from 'node:os';
import path from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { certificateProblem } from './certificates.ts';
import { hostProblem, parseHostPort, parseCidr, type HostPort, type Cidr } from './net.ts';

export type { HostPort, Cidr };

export interface NextHopConfig {
  host: string;
  port: number;
  /** 'required': refuse to deliver without STARTTLS; 'opportunistic': use it when offered; 'off'. */
  starttls: 'required' | 'opportunistic' | 'off';
  /** Implicit TLS (port 465 style). */
  secure: boolean;
  rejectUnauthorized: boolean;
  auth?: { user: string; pass: string };
  timeoutSeconds: number;
  /** The local address connections to the next hop are made from (the one its connector expects). */
  localAddress?: string;
  /** Reach the next hop over IPv4 or IPv6 only (its name resolved to that family). */
  family?: 4 | 6;
  /**
   * The TLS certificate presented to the next hop (a client certificate): how Microsoft 365's
   * inbound connector recognises the gateway by name (TlsSenderCertificateName). 'relay' in the
   * file means relay.tls's certificate and key.
   */
  clientCertificate?: { cert: string; key: string };
}

export interface RelayUser { username: string; password: string }

export interface Config {
  /** Where the file came from, or '(embedded defaults)'. */
  source: string;
  hostname: string;
  listen: HostPort;
  /** null: the embedded capture next hop (try-it-out mode), only on loopback. */
  nextHop: NextHopConfig | null;
  dataDir: string;
  relay: {
    allowNetworks: Cidr[];
    users: RelayUser[];
    tls?: { cert: string; key: string };
    maxMessageBytes: number;
    maxClients: number;
    /** Relay processes sharing the listening socket (`relay.workers`: a number, or auto = the cores, at most 8); 1 = one process, no cluster. */
    workers: number;
    /** Addresses of load balancers allowed to send a PROXY protocol header; empty = off. */
    proxyProtocolFrom: Cidr[];
    /** Greeting pause for clients outside allow_networks (early-talker check). */
    untrustedGreetingDelayMs: number;
    /** Budget for receiving DATA (then 421), and again for inspection and delivery (then 451). */
    dataTimeoutSeconds: number;
    /** Slowest acceptable DATA transfer, bytes a second, once minDataRateAfterSeconds have passed (then 421). */
    minDataRate: number;
    minDataRateAfterSeconds: number;
    /** Connection slots only the allow-listed servers may use (of maxClients). */
    reservedForAllowed: number;
    /** Connections at once from one address outside the allow-list. */
    maxConnectionsPerClient: number;
    /** Longest session from outside the allow-list that has not authenticated. */
    untrustedSessionSeconds: number;
    /** New connections a minute from one address outside the allow-list. */
    maxConnectionsPerMinute: number;
    /** The loop guard's secret (src/act/checked.ts): X-Hallmonitor-Checked is stamped when set. */
    checkedHeaderSecret?: string;
    /** AUTH throttling (src/receive/auth-guard.ts). */
    auth: { maxFailures: number; windowSeconds: number; lockoutSeconds: number; firstDelayMs: number };
  };
  health: { listen: HostPort | null };
  /** format: 'json' (one object per line, for journald and log shippers), 'pretty' (one line a
   *  person reads), 'auto' (pretty at a terminal, JSON otherwise). */
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'; format: 'auto' | 'json' | 'pretty' };
  /** Sections owned by later stages, validated by their own modules. */
  school: Record<string, unknown>;
  policy: Record<string, unknown>;
  store: Record<string, unknown>;
  console: Record<string, unknown>;
  /** The school's own detectors (`detectors:`), each proved by its examples; empty when none. */
  detectors: PatternDetector[];
  /** DKIM signing at the gateway (`dkim:`): its notices, and relayed mail with sign_relayed. */
  dkim?: DkimSettings;
  /** Memory shared by the messages being checked at once (`limits:`). */
  limits: { memoryMb: number; memoryWaitSeconds: number };
  /** Several schools in one service (src/tenants.ts validates them); absent for a single school. */
  tenants?: unknown;
  trust?: Record<string, unknown>;
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super(`Configuration ${source} is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Command-line overrides: they win over the file, so a quick test needs no file at all. */
export interface ConfigOverrides {
  listen?: string;
  nextHop?: string;
  dataDir?: string;
}

/** Environment variables that override the file (secrets and ports). */
export const ENV = {
  HALLMONITOR_LISTEN: 'listen (HOST:PORT)',
  HALLMONITOR_NEXT_HOP: 'next_hop (HOST:PORT)',
  HALLMONITOR_NEXT_HOP_USER: 'next_hop.auth.user',
  HALLMONITOR_NEXT_HOP_PASSWORD: 'next_hop.auth.pass',
  HALLMONITOR_DATA_DIR: 'data_dir',
  HALLMONITOR_HEALTH_LISTEN: 'health.listen (HOST:PORT)',
  HALLMONITOR_DATABASE_URL: 'store.database_url',
  HALLMONITOR_CHECKED_HEADER_SECRET: 'relay.checked_header_secret',
} as const;

const TOP_KEYS = ['hostname', 'listen', 'next_hop', 'data_dir', 'relay', 'health', 'log', 'school', 'policy', 'store', 'console', 'roster', 'tenants', 'trust', 'detectors', 'limits', 'dkim'];

export function loadConfig(file: string | undefined, overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): Config {
  let doc: unknown = {};
  const source = file ? path.resolve(file) : '(embedded defaults)';
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(source, [`cannot read the file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
    }
    try {
      doc = parseYaml(text) ?? {};
    } catch (err) {
      const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}` : '';
      throw new ConfigError(source, [`not valid YAML${where}: ${(err as Error).message.split('\n')[0]}`]);
    }
  }
  return validateConfig(doc, source, overrides, env, file ? path.dirname(path.resolve(file)) : process.cwd());
}

export function validateConfig(doc: unknown, source: string, overrides: ConfigOverrides, env: NodeJS.ProcessEnv, baseDir: string): Config {
  const p = new Problems();
  const root = p.object(doc, '(top level)');
  p.unknownKeys(root, TOP_KEYS, '');

  const hostname = p.string(root.hostname, 'hostname', { optional: true }) ?? 'hallmonitor.localdomain';

  const listenText = overrides.listen ?? env.HALLMONITOR_LISTEN ?? p.string(root.listen, 'listen', { optional: true }) ?? '127.0.0.1:2525';
  const listen = p.hostPort(listenText, overrides.listen ? '--listen' : 'listen');

  let nextHop: NextHopConfig | null = null;
  const nhOverride = overrides.nextHop ?? env.HALLMONITOR_NEXT_HOP;
  const nhDoc = root.next_hop;
  if (nhOverride !== undefined || (nhDoc !== undefined && nhDoc !== null)) {
    const nh = typeof nhDoc === 'string' ? { host: nhDoc } : p.object(nhDoc ?? {}, 'next_hop');
    if (typeof nhDoc !== 'string') p.unknownKeys(nh, ['host', 'port', 'starttls', 'secure', 'reject_unauthorized', 'auth', 'timeout_seconds', 'local_address', 'family', 'client_certificate'], 'next_hop.');
    let host: string | undefined;
    let port: number | undefined;
    if (nhOverride !== undefined) {
      const hp = p.hostPort(nhOverride, overrides.nextHop ? '--next-hop' : 'HALLMONITOR_NEXT_HOP');
      host = hp?.host;
      port = hp?.port;
    } else {
      const hostText = p.string(nh.host, 'next_hop.host');
      if (hostText && hostText.includes(':') && !hostText.startsWith('[') && nh.port === undefined) {
        const hp = p.hostPort(hostText, 'next_hop.host');
        host = hp?.host;
        port = hp?.port;
      } else {
        const bad = hostText === undefined ? undefined : hostProblem(hostText);
        if (bad) p.add(`next_hop.host: ${bad}`);
        host = bad ? undefined : hostText;
        port = p.port(nh.port ?? 25, 'next_hop.port');
      }
    }
    const authDoc = nh.auth === undefined ? undefined : p.object(nh.auth, 'next_hop.auth');
    if (authDoc) p.unknownKeys(authDoc, ['user', 'pass'], 'next_hop.auth.');
    const user = env.HALLMONITOR_NEXT_HOP_USER ?? p.string(authDoc?.user, 'next_hop.auth.user', { optional: true });
    const pass = env.HALLMONITOR_NEXT_HOP_PASSWORD ?? p.string(authDoc?.pass, 'next_hop.auth.pass', { optional: true });
    if ((user === undefined) !== (pass === undefined)) p.add('next_hop.auth: give both user and pass (or neither)');
    nextHop = {
      host: host ?? '',
      port: port ?? 25,
      starttls: p.oneOf(nh.starttls ?? 'opportunistic', ['required', 'opportunistic', 'off'], 'next_hop.starttls'),
      secure: p.boolean(nh.secure ?? false, 'next_hop.secure'),
      rejectUnauthorized: p.boolean(nh.reject_unauthorized ?? true, 'next_hop.reject_unauthorized'),
      auth: user !== undefined && pass !== undefined ? { user, pass } : undefined,
      timeoutSeconds: p.number(nh.timeout_seconds ?? 120, 'next_hop.timeout_seconds', { min: 1, max: 600 }),
      localAddress: nh.local_address === undefined ? undefined : localAddressOf(p.string(nh.local_address, 'next_hop.local_address'), p),
      family: nh.family === undefined ? undefined : (p.oneOf(String(nh.family), ['4', '6'], 'next_hop.family') === '6' ? 6 : 4),
    };
  }

  const dataDirText = overrides.dataDir ?? env.HALLMONITOR_DATA_DIR ?? p.string(root.data_dir, 'data_dir', { optional: true }) ?? '.hallmonitor-data';
  const dataDir = path.resolve(baseDir, dataDirText);

  const relayDoc = p.object(root.relay ?? {}, 'relay');
  p.unknownKeys(relayDoc, ['allow_networks', 'users', 'tls', 'max_message_bytes', 'max_clients', 'proxy_protocol_from', 'untrusted_greeting_delay_ms', 'data_timeout_seconds', 'min_data_rate_bytes_per_second', 'min_data_rate_after_seconds', 'auth_max_failures', 'auth_failure_window_seconds', 'auth_lockout_seconds', 'auth_failure_delay_ms',
    'reserved_for_allowed', 'max_connections_per_client', 'max_connections_per_minute', 'untrusted_session_seconds', 'checked_header_secret', 'workers'], 'relay.');
  const allowNetworks = p.list(relayDoc.allow_networks ?? ['127.0.0.0/8', '::1/128'], 'relay.allow_networks').flatMap((v, i) => {
    const c = p.cidr(v, `relay.allow_networks[${i}]`);
    return c ? [c] : [];
  });
  const users = p.list(relayDoc.users ?? [], 'relay.users').flatMap((u, i) => {
    const o = p.object(u, `relay.users[${i}]`);
    p.unknownKeys(o, ['username', 'password'], `relay.users[${i}].`);
    const username = p.string(o.username, `relay.users[${i}].username`);
    const password = p.string(o.password, `relay.users[${i}].password`);
    if (password !== undefined && password.length < 12) p.add(`relay.users[${i}].password: must be at least 12 characters`);
    return username && password ? [{ username, password }] : [];
  });
  let tls: Config['relay']['tls'];
  if (relayDoc.tls !== undefined && relayDoc.tls !== null) {
    const t = p.object(relayDoc.tls, 'relay.tls');
    p.unknownKeys(t, ['cert', 'key'], 'relay.tls.');
    const cert = p.readableFile(t.cert, 'relay.tls.cert', baseDir);
    const key = p.readableFile(t.key, 'relay.tls.key', baseDir);
    const problem = cert && key ? certificateProblem(cert, key) : undefined;
    if (problem) p.add(`relay.tls: ${problem}`);
    else if (cert && key) tls = { cert, key };
  }
  if (users.length > 0 && !tls) p.add('relay.users: SMTP AUTH needs relay.tls (a certificate and key): passwords are never accepted without TLS');
  const proxyProtocolFrom = p.list(relayDoc.proxy_protocol_from ?? [], 'relay.proxy_protocol_from').flatMap((v, i) => {
    const c = p.cidr(v, `relay.proxy_protocol_from[${i}]`);
    return c ? [c] : [];
  });

  const healthDoc = p.object(root.health ?? {}, 'health');
  p.unknownKeys(healthDoc, ['listen'], 'health.');
  const healthText = env.HALLMONITOR_HEALTH_LISTEN ?? (healthDoc.listen === null ? 'off' : p.string(healthDoc.listen, 'health.listen', { optional: true })) ?? '127.0.0.1:8025';
  const health = { listen: healthText === 'off' ? null : (p.hostPort(healthText, 'health.listen') ?? null) };

  const logDoc = p.object(root.log ?? {}, 'log');
  p.unknownKeys(logDoc, ['level', 'format'], 'log.');
  const format = p.oneOf(env.HALLMONITOR_LOG_FORMAT || (logDoc.format ?? 'auto'), ['auto', 'json', 'pretty'], 'log.format');
  const level = p.oneOf(logDoc.level ?? 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'log.level');

  // next_hop.client_certificate: 'relay' (the certificate the gateway serves), or its own files.
  const clientCertDoc = nhDoc && typeof nhDoc === 'object' ? (nhDoc as Record<string, unknown>).client_certificate : undefined;
  if (nextHop && clientCertDoc !== undefined && clientCertDoc !== null && clientCertDoc !== false) {
    if (clientCertDoc === 'relay' || clientCertDoc === true) {
      if (tls) nextHop.clientCertificate = tls;
      else p.add('next_hop.client_certificate: "relay" uses relay.tls, which is not set; give relay.tls (cert and key) or client_certificate: { cert, key }');
    } else {
      const c = p.object(clientCertDoc, 'next_hop.client_certificate');
      p.unknownKeys(c, ['cert', 'key'], 'next_hop.client_certificate.');
      const cert = p.readableFile(c.cert, 'next_hop.client_certificate.cert', baseDir);
      const key = p.readableFile(c.key, 'next_hop.client_certificate.key', baseDir);
      const problem = cert && key ? certificateProblem(cert, key) : undefined;
      if (problem) p.add(`next_hop.client_certificate: ${problem}`);
      else if (cert && key) nextHop.clientCertificate = { cert, key };
    }
  }

  const relay = {
    allowNetworks,
    users,
    tls,
    maxMessageBytes: p.number(relayDoc.max_message_bytes ?? 50 * 1024 * 1024, 'relay.max_message_bytes', { min: 1024, max: 1024 * 1024 * 1024 }),
    maxClients: p.number(relayDoc.max_clients ?? 200, 'relay.max_clients', { min: 1, max: 100_000 }),
    workers: relayWorkers(relayDoc.workers, p),
    proxyProtocolFrom,
    untrustedGreetingDelayMs: p.number(relayDoc.untrusted_greeting_delay_ms ?? 100, 'relay.untrusted_greeting_delay_ms', { min: 0, max: 10_000 }),
    dataTimeoutSeconds: p.number(relayDoc.data_timeout_seconds ?? 240, 'relay.data_timeout_seconds', { min: 5, max: 3600 }),
    minDataRate: p.number(relayDoc.min_data_rate_bytes_per_second ?? 1024, 'relay.min_data_rate_bytes_per_second', { min: 0, max: 100 * 1024 * 1024 }),
    minDataRateAfterSeconds: p.number(relayDoc.min_data_rate_after_seconds ?? 20, 'relay.min_data_rate_after_seconds', { min: 1, max: 3600 }),
    // A fifth of the slots by default: the school's own servers always get in.
    reservedForAllowed: p.number(relayDoc.reserved_for_allowed ?? Math.max(1, Math.floor(Number(relayDoc.max_clients ?? 200) / 5)), 'relay.reserved_for_allowed', { min: 0, max: Math.max(0, Number(relayDoc.max_clients ?? 200) - 1) }),
    maxConnectionsPerClient: p.number(relayDoc.max_connections_per_client ?? 10, 'relay.max_connections_per_client', { min: 1, max: 100_000 }),
    untrustedSessionSeconds: p.number(relayDoc.untrusted_session_seconds ?? 60, 'relay.untrusted_session_seconds', { min: 1, max: 3600 }),
    maxConnectionsPerMinute: p.number(relayDoc.max_connections_per_minute ?? 60, 'relay.max_connections_per_minute', { min: 0, max: 1_000_000 }),
    checkedHeaderSecret: checkedSecret(env.HALLMONITOR_CHECKED_HEADER_SECRET ?? p.string(relayDoc.checked_header_secret, 'relay.checked_header_secret', { optional: true }), p),
    auth: {
      maxFailures: p.number(relayDoc.auth_max_failures ?? 5, 'relay.auth_max_failures', { min: 1, max: 1000 }),
      windowSeconds: p.number(relayDoc.auth_failure_window_seconds ?? 900, 'relay.auth_failure_window_seconds', { min: 1, max: 86_400 }),
      lockoutSeconds: p.number(relayDoc.auth_lockout_seconds ?? 900, 'relay.auth_lockout_seconds', { min: 1, max: 86_400 }),
      firstDelayMs: p.number(relayDoc.auth_failure_delay_ms ?? 500, 'relay.auth_failure_delay_ms', { min: 0, max: 10_000 }),
    },
  };

  const section = (key: string): Record<string, unknown> => (root[key] === undefined || root[key] === null ? {} : p.object(root[key], key));
  const store = section('store');
  if (env.HALLMONITOR_DATABASE_URL) store.database_url = env.HALLMONITOR_DATABASE_URL;
  const school = section('school');
  // `roster:` at top level is a convenience alias of school.roster.
  if (root.roster !== undefined) school.roster = root.roster;

  const detectors = readDetectors(root.detectors, source, p);
  const dkim = readDkim(root.dkim, p, baseDir);
  const limitsDoc = section('limits');
  p.unknownKeys(limitsDoc, ['memory_mb', 'memory_wait_seconds'], 'limits.');
  // Default: half the machine's memory, at least 256 MB. Under a memory limit of its own (systemd's
  // MemoryMax, a container's limit), set limits.memory_mb well below it (deploy/: 1024 under 2G).
  const limits = {
    memoryMb: p.number(limitsDoc.memory_mb ?? Math.max(256, Math.floor(totalmem() / 2 / 1024 / 1024)), 'limits.memory_mb', { min: 64, max: 1_048_576 }),
    memoryWaitSeconds: p.number(limitsDoc.memory_wait_seconds ?? 20, 'limits.memory_wait_seconds', { min: 0, max: 600 }),
  };

  if (listen && nextHop && nextHop.host === '' && !p.mentions('next_hop.host')) p.add('next_hop.host: missing');
  if (listen && !nextHop && !isLoopback(listen.host)) {
    p.add(`next_hop: missing. Without a next hop the gateway only runs in try-it-out mode on 127.0.0.1 (listen is ${listen.host})`);
  }
  p.throwIfAny(source);
  return {
    source,
    hostname,
    listen: listen!,
    nextHop,
    dataDir,
    relay,
    health,
    log: { level, format },
    school,
    policy: section('policy'),
    store,
    console: section('console'),
    detectors,
    limits,
    ...(dkim ? { dkim } : {}),
    ...(root.tenants !== undefined ? { tenants: root.tenants, trust: section('trust') } : {}),
  };
}

/**
 * `detectors:`: the school's own detectors, in the same form as the shipped word lists
 * (detectors/library/document.ts). Each must prove itself: one wrong example and the file is
 * refused, naming the detector and the example.
 */
function readDetectors(v: unknown, source: string, p: Problems): PatternDetector[] {
  if (v === undefined || v === null) return [];
  const list = p.list(v, 'detectors');
  const found: PatternDetector[] = [];
  const origin = `configuration ${source}`;
  list.forEach((doc, i) => {
    const d = detectorFromDocument(doc, { origin, path: `detectors[${i}]` }, p.found);
    if (d) found.push(d);
  });
  if (!found.length || p.found.length) return found;
  const all = [...DETECTORS, ...found];
  try {
    checkRegistry(all);
  } catch (err) {
    p.add(`detectors: ${(err as Error).message} (a shipped detector already has that id; choose another)`);
    return found;
  }
  if (patternDetectors(all).length > 64) p.add(`detectors: at most ${64 - patternDetectors(DETECTORS).length} detectors of the school's own`);
  for (const f of exampleFailures(all, found)) {
    const i = found.findIndex((d) => d.id === f.detector);
    p.add(`detectors[${i}] (${f.detector}): example ${f.problem}`);
  }
  return found;
}

function readDkim(v: unknown, p: Problems, baseDir: string): DkimSettings | undefined {
  if (v === undefined || v === null) return undefined;
  const d = p.object(v, 'dkim');
  p.unknownKeys(d, ['domain', 'selector', 'private_key', 'sign_relayed'], 'dkim.');
  const domain = p.string(d.domain, 'dkim.domain');
  const selector = p.string(d.selector, 'dkim.selector');
  const privateKey = p.readableFile(d.private_key, 'dkim.private_key', baseDir);
  const signRelayed = p.boolean(d.sign_relayed ?? false, 'dkim.sign_relayed');
  if (privateKey) {
    try {
      createPrivateKey(privateKey);
    } catch (err) {
      p.add(`dkim.private_key: not a private key in PEM form (${(err as Error).message.split('\n')[0]})`);
      return undefined;
    }
  }
  return domain && selector && privateKey ? { domain: domain.toLowerCase(), selector, privateKey, signRelayed } : undefined;
}

function localAddressOf(v: string | undefined, p: Problems): string | undefined {
  if (v === undefined) return undefined;
  if (!isIP(v)) p.add(`next_hop.local_address: "${v}" is not an IP address of this machine`);
  return v;
}

function checkedSecret(v: string | undefined, p: Problems): string | undefined {
  if (v === undefined || v === '') return undefined;
  if (v.length < 16) p.add('relay.checked_header_secret: use at least 16 characters (for example `openssl rand -hex 32`)');
  return v;
}

/** Where relative paths in the configuration (roster, templates) are resolved from. */
export function configDir(config: Pick<Config, 'source'>): string {
  return path.isAbsolute(config.source) ? path.dirname(config.source) : process.cwd();
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** Collects every problem in the file, so the IT lead fixes them all in one go. */
export class Problems {
  readonly found: string[] = [];
  add(problem: string): void {
    this.found.push(problem);
  }
  /** Whether a problem was already reported for this key (so a second, vaguer one is not). */
  mentions(key: string): boolean {
    return this.found.some((f) => f.startsWith(`${key}:`));
  }
  throwIfAny(source: string): void {
    if (this.found.length) throw new ConfigError(source, this.found);
  }
  object(v: unknown, key: string): Record<string, unknown> {
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    this.add(`${key}: expected a mapping (key: value lines), got ${describe(v)}`);
    return {};
  }
  unknownKeys(o: Record<string, unknown>, known: string[], prefix: string): void {
    for (const k of Object.keys(o)) {
      if (known.includes(k)) continue;
      const near = closest(k, known);
      this.add(`${prefix}${k}: unknown key${near ? ` (did you mean ${prefix}${near}?)` : ''} (known keys here: ${known.join(', ')})`);
    }
  }
  string(v: unknown, key: string, opts: { optional?: boolean } = {}): string | undefined {
    if (v === undefined || v === null) {
      if (!opts.optional) this.add(`${key}: missing`);
      return undefined;
    }
    if (typeof v === 'number') return String(v);
    if (typeof v !== 'string' || v.trim() === '') {
      this.add(`${key}: expected text, got ${describe(v)}`);
      return undefined;
    }
    return v.trim();
  }
  number(v: unknown, key: string, range: { min: number; max: number }): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.add(`${key}: expected a number, got ${describe(v)}`);
      return range.min;
    }
    if (v < range.min || v > range.max) this.add(`${key}: ${v} is out of range (${range.min} to ${range.max})`);
    return v;
  }
  port(v: unknown, key: string): number {
    return this.number(typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v, key, { min: 1, max: 65535 });
  }
  boolean(v: unknown, key: string): boolean {
    if (typeof v !== 'boolean') {
      this.add(`${key}: expected true or false, got ${describe(v)}`);
      return false;
    }
    return v;
  }
  oneOf<T extends string>(v: unknown, options: readonly T[], key: string): T {
    if (typeof v === 'string' && (options as readonly string[]).includes(v)) return v as T;
    this.add(`${key}: expected one of ${options.join(', ')}, got ${describe(v)}`);
    return options[0];
  }
  list(v: unknown, key: string): unknown[] {
    if (Array.isArray(v)) return v;
    this.add(`${key}: expected a list (lines starting with "- "), got ${describe(v)}`);
    return [];
  }
  hostPort(v: string, key: string): HostPort | undefined {
    try {
      return parseHostPort(v);
    } catch (err) {
      this.add(`${key}: ${(err as Error).message}`);
      return undefined;
    }
  }
  cidr(v: unknown, key: string): Cidr | undefined {
    try {
      return parseCidr(String(v));
    } catch (err) {
      this.add(`${key}: ${(err as Error).message}`);
      return undefined;
    }
  }
  readableFile(v: unknown, key: string, baseDir: string): string | undefined {
    const s = this.string(v, key);
    if (s === undefined) return undefined;
    const full = path.resolve(baseDir, s);
    try {
      return readFileSync(full, 'utf8');
    } catch (err) {
      this.add(`${key}: cannot read ${full} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      return undefined;
    }
  }
}

/** The known key a misspelt one was most likely meant to be: within a third of its length in edits. */
function closest(word: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(word.length / 3)) + 1;
  for (const k of known) {
    const d = editDistance(word.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

/** Optimal string alignment distance (a swap of two neighbours counts once): "buisness" → "business" is 1. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 8 || a.length > 64 || b.length > 64) return 99;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** `relay.workers`: a whole number from 1 to MAX_WORKERS, or auto; absent: 1. */
function relayWorkers(v: unknown, p: Problems): number {
  if (v === undefined || v === null) return 1;
  if (v === 'auto') return autoWorkers();
  if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_WORKERS) return v;
  p.add(`relay.workers: expected a whole number from 1 to ${MAX_WORKERS}, or auto, got ${describe(v)}`);
  return 1;
}

/** The most relay processes `relay.workers` (or `serve --workers`) may ask for. */
export const MAX_WORKERS = 64;

/**
 * `relay.workers: auto`: one relay process per core, at most 8. Past 8 the shared store (one
 * SQLite writer, or PostgreSQL's connections) and memory (each process holds its own rosters and
 * inspection threads) cost more than another process relays.
 */
export function autoWorkers(): number {
  return Math.max(1, Math.min(availableParallelism(), 8));
}
