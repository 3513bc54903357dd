// The whole configuration, described once: every section, every key, its kind, its range or
// choices and its default. From this one description come
//   - validation of the whole file in one pass, every problem at once, each naming its key path
//     (`issueMessages` words the library's findings in the project's own plain English; an unknown
//     key is a problem with a "did you mean"),
//   - the TypeScript types of the sections (`SchoolSection`, `PolicySection`, …; src/config/index.ts
//     builds `Config` from them),
//   - the documented example: config/hallmonitor.example.yaml is checked against it in a test.
// What needs the file system, the network or crypto (rosters, templates, certificates, keys, the
// store's reachability, detectors' examples) is checked after it, by src/config/index.ts and
// src/preflight.ts.
//
// The library is zod (4.x, no dependencies of its own). valibot was measured too (BENCHMARKS.md,
// "Configuration schema"): faster to import (≈10 ms against ≈100 ms) and to validate (≈25 µs
// against ≈55 µs for the example file), but its optional peer dependency on TypeScript makes npm
// install TypeScript on production hosts (`npm ci --omit=dev`), which issue 17 rules out.
//
// To add a section: write its shape below (the kinds at the top of this file) and add one line to
// SECTIONS. To add a key to a section: one line in that section's shape. A rule's settings come
// from its shipped defaults in src/decide/rules.ts (the kind of each default is the kind of the key).
import { isIP } from 'node:net';
import { availableParallelism, totalmem } from 'node:os';
import { z } from 'zod';
import { RULES, RULE_ALIASES, RULE_IDS, type RuleId, type RuleSettings } from '../decide/rules.ts';
import { ConfigError, describe, unknownKeyMessage } from './problems.ts';
import { hostProblem, parseCidr, parseHostPort, redactUrl, type HostPort } from './net.ts';

// ---------------------------------------------------------------------------------------------
// Kinds of value. Each says what it expects in the words of the error messages.

/** Text (a number is taken as its digits); surrounding spaces are trimmed; empty is refused. */
const text = () => z.preprocess((v) => (typeof v === 'number' ? String(v) : v), z.string().trim().min(1, { error: 'expected text, got an empty value' }));

/** A number from min to max. */
const number = (min: number, max: number) => {
  const error = (i: { input?: unknown }) => `${String(i.input)} is out of range (${min} to ${max})`;
  return z.number().min(min, { error }).max(max, { error });
};

/** A TCP port, as a number or digits. */
const port = () => z.preprocess((v) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v), number(1, 65535));

/** Text that must pass `test`; `why` words the problem. */
function checked<T extends z.ZodType>(schema: T, test: (v: z.output<T>) => boolean, why: (v: z.output<T>) => string) {
  return schema.superRefine((v, ctx) => {
    if (!test(v)) ctx.addIssue({ code: 'custom', message: why(v), input: v });
  });
}

/** Text read by `parse`, whose error message is the problem. */
function parsedText<T>(parse: (s: string) => T) {
  return text().transform((s, ctx) => {
    try {
      return parse(s);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message, input: s });
      return z.NEVER;
    }
  });
}

const hostPort = () => parsedText(parseHostPort);
const cidr = () => parsedText(parseCidr);
const ADDRESS = /^[^@\s<>"]+@[^@\s<>"]+\.[^@\s<>"]+$/;
const email = () => checked(text(), (s) => ADDRESS.test(s), (s) => `"${s}" is not an email address`);
/** A mail domain, lower-cased, without a leading @ or a trailing dot. */
const domain = () => text().transform((s, ctx) => {
  const norm = s.toLowerCase().replace(/^@/, '').replace(/\.$/, '');
  if (/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(norm)) return norm;
  ctx.addIssue({ code: 'custom', message: `"${s}" is not a domain name`, input: s });
  return z.NEVER;
});
const timeZone = () => checked(text(), isTimeZone, (s) => `"${s}" is not a time zone (for example Europe/London)`);
const timeOfDay = () => checked(text(), (s) => /^([01]?\d|2[0-3]):([0-5]\d)$/.test(s), (s) => `expected a time of day like 07:30, got "${s}"`);
const httpUrl = () => checked(text(), isHttpUrl, (s) => `expected an http(s):// address, got "${s}"`);
const certificatePair = () => z.strictObject({ cert: text(), key: text() });
const list = <T extends z.ZodType>(item: T) => z.array(item);

function isTimeZone(s: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: s });
    return true;
  } catch {
    return false;
  }
}

function isHttpUrl(s: string): boolean {
  if (!/^https?:\/\/\S+$/.test(s)) return false;
  try {
    new URL(s);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// The sections.

const nextHop = z.preprocess((v) => (typeof v === 'string' ? { host: v } : v), z.strictObject({
  /** HOST, or HOST:PORT when port is not given. */
  host: text(),
  port: port().optional(),
  starttls: z.enum(['required', 'opportunistic', 'off']).default('opportunistic'),
  secure: z.boolean().default(false),
  reject_unauthorized: z.boolean().default(true),
  auth: z.strictObject({ user: text().optional(), pass: text().optional() }).superRefine((a, ctx) => {
    if ((a.user === undefined) !== (a.pass === undefined)) ctx.addIssue({ code: 'custom', message: 'give both user and pass (or neither)', input: a });
  }).optional(),
  timeout_seconds: number(1, 600).default(120),
  local_address: checked(text(), (s) => isIP(s) !== 0, (s) => `"${s}" is not an IP address of this machine`).optional(),
  family: z.preprocess((v) => (typeof v === 'number' ? String(v) : v), z.enum(['4', '6'])).transform((f) => (f === '6' ? 6 : 4) as 4 | 6).optional(),
  /** 'relay' (or true): relay.tls's certificate; or its own files; false: none. */
  client_certificate: z.union([z.literal('relay'), z.boolean(), certificatePair()], { error: (i) => `expected "relay" or cert and key files, got ${describe(i.input)}` }).optional(),
}).transform((nh, ctx) => {
  let host = nh.host;
  let hopPort = nh.port;
  if (host.includes(':') && !host.startsWith('[') && hopPort === undefined) {
    try {
      ({ host, port: hopPort } = parseHostPort(host));
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['host'], message: (err as Error).message, input: host });
    }
  } else {
    const bad = hostProblem(host);
    if (bad) ctx.addIssue({ code: 'custom', path: ['host'], message: bad, input: host });
  }
  const cc = nh.client_certificate;
  const clientCertificate = cc === 'relay' || cc === true ? ('relay' as const) : cc === false ? undefined : cc;
  return {
    host,
    port: hopPort ?? 25,
    /** 'required': refuse to deliver without STARTTLS; 'opportunistic': use it when offered; 'off'. */
    starttls: nh.starttls,
    /** Implicit TLS (port 465 style). */
    secure: nh.secure,
    rejectUnauthorized: nh.reject_unauthorized,
    timeoutSeconds: nh.timeout_seconds,
    ...(nh.auth?.user !== undefined && nh.auth.pass !== undefined ? { auth: { user: nh.auth.user, pass: nh.auth.pass } } : {}),
    /** The local address connections to the next hop are made from (the one its connector expects). */
    ...(nh.local_address === undefined ? {} : { localAddress: nh.local_address }),
    /** Reach the next hop over IPv4 or IPv6 only (its name resolved to that family). */
    ...(nh.family === undefined ? {} : { family: nh.family }),
    /**
     * The TLS certificate presented to the next hop (a client certificate): how Microsoft 365's
     * inbound connector recognises the gateway by name. 'relay': relay.tls's certificate and key.
     * The configuration loader replaces the file names by the files' contents.
     */
    ...(clientCertificate === undefined ? {} : { clientCertificate }),
  };
}));

/** The most relay processes `relay.workers` (or `serve --workers`) may ask for. */
export const MAX_WORKERS = 64;

/**
 * `relay.workers: auto` (the default): one relay process per core, at most 4. Each worker holds
 * its own rosters and inspection threads (about 235 MB idle for a single school, measured), so
 * four and the primary stay near 1 GB, inside the shipped unit's MemoryHigh; one worker relays
 * over a thousand messages a second, far beyond a school's mail. More is a deliberate setting.
 */
export const AUTO_WORKERS_MAX = 4;
export function autoWorkers(): number {
  // Only Linux spreads connections among the workers' own sockets (SO_REUSEPORT); elsewhere
  // node:cluster's primary hands each one over, and 2 workers measured slower than 1.
  if (process.platform !== 'linux') return 1;
  return Math.max(1, Math.min(availableParallelism(), AUTO_WORKERS_MAX));
}

const relay = z.strictObject({
  allow_networks: list(cidr()).default(() => ['127.0.0.0/8', '::1/128'].map(parseCidr)),
  users: list(z.strictObject({
    username: text(),
    password: text().pipe(z.string().min(12, { error: 'must be at least 12 characters' })),
  })).default([]),
  /** Certificate for STARTTLS (PEM files); the loader replaces the names by the contents. */
  tls: certificatePair().optional(),
  max_message_bytes: number(1024, 1024 * 1024 * 1024).default(50 * 1024 * 1024),
  max_clients: number(1, 100_000).default(200),
  /** Addresses of load balancers allowed to send a PROXY protocol header; empty = off. */
  proxy_protocol_from: list(cidr()).default([]),
  /** Greeting pause for clients outside allow_networks (early-talker check). */
  untrusted_greeting_delay_ms: number(0, 10_000).default(100),
  /** Budget for receiving DATA (then 421), and again for inspection and delivery (then 451). */
  data_timeout_seconds: number(5, 3600).default(240),
  /** Slowest acceptable DATA transfer, once min_data_rate_after_seconds have passed (then 421). */
  min_data_rate_bytes_per_second: number(0, 100 * 1024 * 1024).default(1024),
  min_data_rate_after_seconds: number(1, 3600).default(20),
  /** Connection slots only the allow-listed servers may use (of max_clients); default a fifth. */
  reserved_for_allowed: number(0, 100_000).optional(),
  /** Connections at once from one address outside the allow-list. */
  max_connections_per_client: number(1, 100_000).default(10),
  /** New connections a minute from one address outside the allow-list. */
  max_connections_per_minute: number(0, 1_000_000).default(60),
  /** Longest session from outside the allow-list that has not authenticated. */
  untrusted_session_seconds: number(1, 3600).default(60),
  /** The loop guard's secret (src/act/checked.ts): X-Hallmonitor-Checked is stamped when set. */
  checked_header_secret: checked(z.string(), (s) => s === '' || s.length >= 16, () => 'use at least 16 characters (for example `openssl rand -hex 32`)').optional(),
  /** AUTH throttling (src/receive/auth-guard.ts). */
  auth_max_failures: number(1, 1000).default(5),
  auth_failure_window_seconds: number(1, 86_400).default(900),
  auth_lockout_seconds: number(1, 86_400).default(900),
  auth_failure_delay_ms: number(0, 10_000).default(500),
  /** Relay processes sharing the listening socket (src/workers.ts): a number, or auto (the default: the cores, at most 4); 1 = one process. */
  workers: z.union([z.literal('auto'), z.number().int().min(1).max(MAX_WORKERS)], { error: (i) => `expected a whole number from 1 to ${MAX_WORKERS}, or auto, got ${JSON.stringify(i.input)}` }).default('auto'),
}).transform((r, ctx) => {
  const reservedForAllowed = r.reserved_for_allowed ?? Math.max(1, Math.floor(r.max_clients / 5));
  const most = Math.max(0, r.max_clients - 1);
  if (reservedForAllowed > most) ctx.addIssue({ code: 'custom', path: ['reserved_for_allowed'], message: `${reservedForAllowed} is out of range (0 to ${most})`, input: reservedForAllowed });
  if (r.users.length > 0 && !r.tls) ctx.addIssue({ code: 'custom', path: ['users'], message: 'SMTP AUTH needs relay.tls (a certificate and key): passwords are never accepted without TLS', input: r.users });
  return {
    allowNetworks: r.allow_networks,
    workers: r.workers === 'auto' ? autoWorkers() : r.workers,
    users: r.users,
    tls: r.tls,
    maxMessageBytes: r.max_message_bytes,
    maxClients: r.max_clients,
    proxyProtocolFrom: r.proxy_protocol_from,
    untrustedGreetingDelayMs: r.untrusted_greeting_delay_ms,
    dataTimeoutSeconds: r.data_timeout_seconds,
    minDataRate: r.min_data_rate_bytes_per_second,
    minDataRateAfterSeconds: r.min_data_rate_after_seconds,
    reservedForAllowed,
    maxConnectionsPerClient: r.max_connections_per_client,
    untrustedSessionSeconds: r.untrusted_session_seconds,
    maxConnectionsPerMinute: r.max_connections_per_minute,
    checkedHeaderSecret: r.checked_header_secret || undefined,
    auth: { maxFailures: r.auth_max_failures, windowSeconds: r.auth_failure_window_seconds, lockoutSeconds: r.auth_lockout_seconds, firstDelayMs: r.auth_failure_delay_ms },
  };
});

const health = z.strictObject({
  /** HOST:PORT, or "off" (an empty value too). */
  listen: text().default('127.0.0.1:8025').transform((s, ctx): HostPort | null => {
    if (s === 'off') return null;
    try {
      return parseHostPort(s);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message, input: s });
      return z.NEVER;
    }
  }),
});

const log = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** 'json' (one object per line), 'pretty' (one line a person reads), 'auto' (pretty at a terminal). */
  format: z.enum(['auto', 'json', 'pretty']).default('auto'),
});

const school = z.strictObject({
  name: text().optional(),
  /** The school's own mail domains (subdomains included). */
  domains: list(domain()).default([]),
  partner_domains: list(domain()).default([]),
  business_manager: email().optional(),
  safeguarding_lead: email().optional(),
  notifications_from: email().optional(),
  /** The pupil roster (.xlsx or CSV), relative to the configuration file. */
  roster: text().optional(),
  staff_list: text().optional(),
  /** Local time of the daily digest, in time_zone. */
  digest_time: timeOfDay().default('07:30'),
  time_zone: timeZone().default('Europe/London'),
  /** The safeguarding lead is told at once about incidents at or above this severity. */
  safeguarding_min_severity: number(1, 5).default(5),
  /** The school's edited notice templates, relative to the configuration file. */
  templates_dir: text().optional(),
});

const ACTIONS = ['deliver', 'quarantine', 'block'] as const;
const NOTIFY = ['immediate', 'digest', 'none'] as const;

/** A rule's settings: action, severity, notify and its own, each of the kind of its shipped default. */
function ruleSettings(id: RuleId) {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, value] of Object.entries(RULES[id].defaults)) {
    const kind: z.ZodType = key === 'action'
      ? (id === 'uninspectable-attachment'
        // A message that could not be checked is held, never waved through.
        ? checked(z.enum(ACTIONS), (a) => a !== 'deliver', () => 'must be quarantine or block: a message Hallmonitor could not read is never delivered unchecked (use policy.mode: monitor to try the rules out)')
        : z.enum(ACTIONS))
      : key === 'severity' ? number(1, 5)
      : key === 'notify' ? z.enum(NOTIFY)
      : typeof value === 'boolean' ? z.boolean()
      : typeof value === 'number' ? number(0, 1_000_000)
      : Array.isArray(value) ? list(z.string({ error: 'expected a word' }).trim().min(1, { error: 'expected a word' }))
      : z.unknown();
    shape[key] = (kind as z.ZodType & { optional(): z.ZodType }).optional();
  }
  return z.strictObject(shape);
}

/** `policy.rules`: the settings a school changes, by rule id; the rest are the shipped defaults (RULES). */
const rules = z.strictObject(Object.fromEntries([...RULE_IDS, ...Object.keys(RULE_ALIASES)].map((id) => [id, ruleSettings(RULE_ALIASES[id] ?? (id as RuleId)).optional()])))
  .transform((given, ctx) => {
    // Former rule ids are read as the rule they became (uk-identifier-in-message → identifier-in-message).
    const out: Partial<Record<RuleId, Partial<RuleSettings>>> = {};
    for (const [k, v] of Object.entries(given)) {
      if (v === undefined) continue;
      const id = RULE_ALIASES[k] ?? (k as RuleId);
      if (id !== k && given[id] !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: `is the former name of ${id}, which is also given; keep one`, input: v });
      out[id] = v as Partial<RuleSettings>;
    }
    return out;
  });

const policy = z.strictObject({
  /** enforce: hold and block as the rules say; monitor: deliver everything and record what would have happened. */
  mode: z.enum(['enforce', 'monitor']).default('enforce'),
  /** hold: store and answer 250, tell the sender; reject: store and answer 550 5.7.1 with the reference. */
  block_mode: z.enum(['hold', 'reject']).default('hold'),
  /** Personal webmail domains on top of config/webmail-domains.txt. */
  webmail_domains: list(domain()).default([]),
  rules: rules.default({}),
  /** How long the sender's "send it anyway" link works (rules with sender_may_override), in hours. */
  override_hours: number(1, 168).default(24),
});

const store = z.strictObject({
  /** PostgreSQL; without it, the embedded SQLite file. */
  database_url: checked(text(), (s) => /^postgres(ql)?:\/\//i.test(s), (s) => `expected a postgres://user@host:port/database URL (or leave it out for the embedded SQLite file), got ${JSON.stringify(redactUrl(s))}`).optional(),
  /** Relative to data_dir; default <data_dir>/hallmonitor.db. */
  sqlite_file: text().optional(),
  quarantine_retention_days: number(1, 3650).default(30),
  incident_retention_years: number(1, 100).default(6),
  outbox_retry_seconds: number(1, 3600).default(60),
  /** Default: 300, or twice next_hop.timeout_seconds and 30 s when that is longer. */
  outbox_lease_seconds: number(5, 86_400).optional(),
  sqlite_busy_seconds: number(0, 600).default(10),
});

const consoleSection = z.strictObject({
  /** HOST:PORT, or "off" (the default: no console). */
  listen: checked(text(), (s) => s === 'off' || hostPortProblem(s) === undefined, (s) => hostPortProblem(s)!).optional(),
  public_url: httpUrl().optional(),
  tls: certificatePair().optional(),
  session_hours: number(1, 24 * 7).default(8),
  idle_minutes: number(5, 24 * 60).default(60),
  lockout: z.strictObject({ failures: number(1, 100).default(5), minutes: number(1, 24 * 60).default(15) }).prefault({}),
  /** How long the release and reject links in the business manager's emails work, in hours. */
  email_link_hours: number(1, 720).default(72),
}).superRefine((c, ctx) => {
  const problem = consoleTlsProblem(c.listen, c.tls !== undefined, c.public_url);
  if (problem) ctx.addIssue({ code: 'custom', path: ['tls'], message: problem, input: c.tls });
});

function hostPortProblem(s: string): string | undefined {
  try {
    parseHostPort(s);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Why the console may not listen there as configured: beyond this machine it needs TLS (or an https:// public_url). */
export function consoleTlsProblem(listen: string | undefined, tls: boolean, publicUrl: string | undefined): string | undefined {
  if (listen === undefined || listen === 'off' || tls || publicUrl?.startsWith('https://')) return undefined;
  let host: string;
  try {
    host = parseHostPort(listen).host;
  } catch {
    return undefined;
  }
  if (isLoopback(host)) return undefined;
  return `the console listens on ${host}, beyond this machine, so it needs a certificate and key (or a public_url starting https:// when TLS ends at a reverse proxy): passwords and pupils' data never cross the network unencrypted`;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** The same section with no defaults filled in: what one school of a trust overrides, and nothing else. */
function overridesOnly<T extends z.ZodObject>(section: T) {
  const shape: Record<string, z.ZodType> = {};
  for (const [k, v] of Object.entries(section.shape as Record<string, z.ZodType>)) shape[k] = (v instanceof z.ZodDefault ? (v.removeDefault() as z.ZodType) : v).optional();
  return z.strictObject(shape) as unknown as z.ZodType<Partial<z.output<T>>, Partial<z.input<T>>>;
}

const trust = z.strictObject({
  name: text().optional(),
  /** One MIS export for several schools, with a school column. */
  roster: text().optional(),
});

/** on | off (or true | false). */
const onOff = () => z.union([z.boolean(), z.enum(['on', 'off'])], { error: (i) => `expected on or off, got ${JSON.stringify(i.input)}` });

const tenant = z.strictObject({
  /** Lower-case letters, digits and hyphens; shown in the console. */
  id: checked(text(), (s) => /^[a-z0-9][a-z0-9-]{0,62}$/.test(s), (s) => `"${s}" must be lower-case letters, digits and hyphens`),
  name: text().optional(),
  domains: list(domain()).default([]).superRefine((d, ctx) => {
    if (!d.length) ctx.addIssue({ code: 'custom', message: 'each school needs at least one mail domain', input: d });
  }),
  /** relay.users that send for this school. */
  relay_users: list(text()).default([]),
  /** Any school: key, for this school only. */
  school: overridesOnly(school).optional(),
  /** Any policy: key, for this school only (rules merge one setting at a time). */
  policy: overridesOnly(policy).optional(),
  /** Its rows in trust.roster (default: its id). */
  roster_school: text().optional(),
  /** `ocr: off` turns text recognition off for this school (it cannot turn on what the trust has off). */
  inspection: z.strictObject({ ocr: onOff().transform((v) => v === true || v === 'on') }).optional(),
});

const dkim = z.strictObject({
  domain: text().transform((s) => s.toLowerCase()),
  selector: text(),
  /** PEM private key file; the loader reads it. */
  private_key: text(),
  sign_relayed: z.boolean().default(false),
});

/** The machine's memory, or the cgroup's limit when that is lower (Node reports a huge number without one). */
function usableMemory(): number {
  const limit = process.constrainedMemory();
  return limit > 0 && limit < totalmem() ? limit : totalmem();
}

const limits = z.strictObject({
  // Default: half the memory the process may have (the machine's, or less under systemd's
  // MemoryMax or a container's limit, as the kernel's cgroup says), at least 256 MB. Set it
  // explicitly for a service (deploy/: 1024 under MemoryMax 2G).
  memory_mb: number(64, 1_048_576).default(() => Math.max(256, Math.floor(usableMemory() / 2 / 1024 / 1024))),
  memory_wait_seconds: number(0, 600).default(20),
}).transform((l) => ({ memoryMb: l.memory_mb, memoryWaitSeconds: l.memory_wait_seconds }));

/**
 * `inspection:`: text recognition of scanned documents and photographed pages (src/inspect/ocr.ts,
 * whose OcrLimits this becomes). On by default; the gateway turns it off at start-up, saying so
 * once, when Tesseract is missing.
 */
const inspection = z.strictObject({
  ocr: onOff().default('on'),
  /** Tesseract language codes (Debian: tesseract-ocr-<code>). */
  ocr_languages: list(checked(text(), (s) => /^[A-Za-z_]{1,32}$/.test(s), (s) => `"${s}" is not a Tesseract language code (such as eng or cym)`)).min(1, { error: 'expected at least one language, such as [eng]' }).default(['eng']),
  /** Pages Tesseract reads for one message. */
  ocr_max_pages: number(1, 1000).default(20),
  /** Time one page may take, and all the pages of one message. */
  ocr_page_seconds: number(1, 600).default(30),
  ocr_message_seconds: number(1, 3600).default(90),
  /** The program, on PATH or a path. */
  ocr_tesseract: text().default('tesseract'),
  /**
   * A large photo the gate turned away gets a second, finer look for a page taken from further
   * off (its text too small for the first look): ~30 ms more for each large ordinary photo.
   */
  ocr_distant_pages: onOff().default('on'),
}).transform((o) => ({
  enabled: o.ocr === true || o.ocr === 'on',
  languages: o.ocr_languages,
  maxPages: o.ocr_max_pages,
  pageTimeoutMs: o.ocr_page_seconds * 1000,
  messageTimeoutMs: o.ocr_message_seconds * 1000,
  dpi: 300,
  tesseract: o.ocr_tesseract,
  distantPages: o.ocr_distant_pages === true || o.ocr_distant_pages === 'on',
}));

/** Every top-level key. A new section is one line here. */
const SECTIONS = {
  /** The name in SMTP greetings and the Received header. */
  hostname: text().default('hallmonitor.localdomain'),
  /** Where the school's mail server connects. */
  listen: hostPort().default(parseHostPort('127.0.0.1:2525')),
  /** The smart host; absent: try-it-out capture mode (loopback only). */
  next_hop: nextHop.optional(),
  /** Relative to the configuration file. */
  data_dir: text().default('.hallmonitor-data'),
  relay: relay.prefault({}),
  health: health.prefault({}),
  log: log.prefault({}),
  school: school.prefault({}),
  policy: policy.prefault({}),
  store: store.prefault({}),
  console: consoleSection.prefault({}),
  /** A convenience alias of school.roster. */
  roster: text().optional(),
  /** Several schools in one service (src/tenants.ts); absent for a single school. */
  tenants: list(tenant).min(1, { error: 'the list is empty; remove the key for a single school' }).optional(),
  trust: trust.optional(),
  /** The school's own detectors, in the form of detectors/library/document.ts, which checks each. */
  detectors: list(z.unknown()).default([]),
  limits: limits.prefault({}),
  dkim: dkim.optional(),
  inspection: inspection.prefault({}),
};

export const configSchema = z.strictObject(SECTIONS).superRefine(crossChecks, { when: () => true });

/** Checks that span sections. Run even when a section has problems, so every problem is reported at once. */
function crossChecks(c: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const asObject = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
  const listen = asObject(c.listen);
  if (c.next_hop === undefined && typeof listen?.host === 'string' && !isLoopback(listen.host)) {
    ctx.addIssue({ code: 'custom', path: ['next_hop'], message: `missing. Without a next hop the gateway only runs in try-it-out mode on 127.0.0.1 (listen is ${listen.host})`, input: undefined });
  }
  const nh = asObject(c.next_hop);
  const given = nh?.timeoutSeconds ?? nh?.timeout_seconds;
  const hopTimeout = typeof given === 'number' ? given : 30;
  const lease = asObject(c.store)?.outbox_lease_seconds;
  // A claim must outlast one delivery attempt, or a slow next hop would get the notice twice.
  if (typeof lease === 'number' && lease <= hopTimeout) ctx.addIssue({ code: 'custom', path: ['store', 'outbox_lease_seconds'], message: `${lease} must be longer than next_hop.timeout_seconds (${hopTimeout})`, input: lease });

  if (!Array.isArray(c.tenants)) return;
  const trustRoster = asObject(c.trust)?.roster;
  const users = asObject(c.relay)?.users;
  const known = new Set(Array.isArray(users) ? users.map((u) => asObject(u)?.username) : []);
  const seenIds = new Set<unknown>();
  const domainOwner = new Map<string, unknown>();
  const userOwner = new Map<string, unknown>();
  c.tenants.forEach((entry, i) => {
    const t = asObject(entry);
    if (!t) return;
    const at = (...rest: Array<string | number>) => ['tenants', i, ...rest];
    if (typeof t.id === 'string') {
      if (seenIds.has(t.id)) ctx.addIssue({ code: 'custom', path: at('id'), message: `"${t.id}" is used by another tenant`, input: t.id });
      seenIds.add(t.id);
    }
    if (Array.isArray(t.domains)) t.domains.forEach((d, j) => {
      if (typeof d !== 'string') return;
      const other = domainOwner.get(d.toLowerCase());
      if (other !== undefined) ctx.addIssue({ code: 'custom', path: at('domains', j), message: `${d.toLowerCase()} already belongs to tenant ${String(other)}`, input: d });
      domainOwner.set(d.toLowerCase(), t.id);
    });
    if (Array.isArray(t.relay_users)) t.relay_users.forEach((u, j) => {
      if (typeof u !== 'string') return;
      if (!known.has(u)) ctx.addIssue({ code: 'custom', path: at('relay_users', j), message: `"${u}" is not one of relay.users`, input: u });
      const other = userOwner.get(u);
      if (other !== undefined) ctx.addIssue({ code: 'custom', path: at('relay_users', j), message: `"${u}" already sends for tenant ${String(other)}`, input: u });
      userOwner.set(u, t.id);
    });
    if (asObject(t.school)?.roster === undefined && trustRoster === undefined) ctx.addIssue({ code: 'custom', path: at(), message: `no roster (give tenants[${i}].school.roster, or trust.roster with a school column)`, input: t });
  });
}

// ---------------------------------------------------------------------------------------------
// Types, inferred from the schema.

export type ConfigDocument = z.output<typeof configSchema>;
export type SchoolSection = z.output<typeof school>;
export type PolicySection = z.output<typeof policy>;
export type StoreSection = z.output<typeof store>;
export type ConsoleSection = z.output<typeof consoleSection>;
export type TrustSection = z.output<typeof trust>;
export type TenantSection = z.output<typeof tenant>;
export type NextHopSection = z.output<typeof nextHop>;

/** Each section's schema, for a module that is given a section on its own (a test, one school's view of a trust). */
export const SECTION_SCHEMAS = { school, policy, store, console: consoleSection, trust } as const;

type Sections = typeof SECTION_SCHEMAS;

/**
 * Sections checked and completed with their defaults. A configuration from validateConfig is
 * already valid, so this only fills in what a caller left out; a hand-made section (a test, a
 * benchmark, one school's view of a trust) is checked as the file would be, and every problem
 * (with `more`, the caller's own) throws at once, each with its key path.
 */
export function parseSections<K extends keyof Sections>(source: string, given: { [k in K]: unknown }, more: string[] = []): { [k in K]: z.output<Sections[k]> } {
  const out = {} as { [k in K]: z.output<Sections[k]> };
  const problems = [...more];
  for (const key of Object.keys(given) as K[]) {
    const schema = SECTION_SCHEMAS[key] as z.ZodType;
    const r = schema.safeParse(given[key] ?? {}, { reportInput: true });
    if (r.success) out[key] = r.data as z.output<Sections[typeof key]>;
    else problems.push(...issueMessages(r.error.issues, schema, [key]));
  }
  if (problems.length) throw new ConfigError(source, problems);
  return out;
}

export function isEmailAddress(s: string): boolean {
  return ADDRESS.test(s);
}

// ---------------------------------------------------------------------------------------------
// The library's findings, in the project's words.

const EXPECTED: Record<string, string> = {
  number: 'a number',
  int: 'a whole number',
  string: 'text',
  boolean: 'true or false',
  object: 'a mapping (key: value lines)',
  array: 'a list (lines starting with "- ")',
};

/** Keys whose values are secrets: problems with them name the key, never the value. */
const SECRET_KEY = /secret|pass/i;

/** One line per problem: "policy.rules.pupil-name-in-subject.action: expected one of deliver, quarantine, block, got string "blok"". */
export function issueMessages(issues: readonly z.core.$ZodIssue[], schema: z.ZodType = configSchema, prefix: ReadonlyArray<PropertyKey> = [], labels: Record<string, string> = {}): string[] {
  const out: string[] = [];
  for (const issue of issues) {
    const at = [...prefix, ...issue.path];
    const key = labels[keyPath(at)] ?? (keyPath(at) || '(top level)');
    const input = (issue as { input?: unknown }).input;
    // A secret's value (a password, the loop guard's secret) is never repeated on the console or in the journal.
    const got = SECRET_KEY.test(keyPath(at)) ? `a ${typeof input} (not shown: a secret)` : describe(input);
    switch (issue.code) {
      case 'invalid_type':
        out.push(input === undefined ? `${key}: missing` : `${key}: expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${got}`);
        break;
      case 'invalid_value':
        out.push(`${key}: expected one of ${issue.values.map(String).join(', ')}, got ${got}`);
        break;
      case 'unrecognized_keys': {
        const known = knownKeys(schema, issue.path);
        const pre = keyPath(at) ? `${keyPath(at)}.` : '';
        for (const k of issue.keys) out.push(unknownKeyMessage(pre, k, known));
        break;
      }
      case 'invalid_union': {
        // The alternative whose kind matched (a mapping given where a mapping is allowed) says what is wrong inside it.
        const inner = issue.errors.find((branch) => branch.length && !branch.some((b) => b.path.length === 0 && (b.code === 'invalid_type' || b.code === 'invalid_value')));
        if (inner) out.push(...issueMessages(inner.map((b) => ({ ...b, path: [...issue.path, ...b.path] })), schema, prefix, labels));
        else out.push(`${key}: ${issue.message}`);
        break;
      }
      default:
        out.push(`${key}: ${issue.message}`);
    }
  }
  return out;
}

/** school.domains[0], policy.rules.pupil-name-in-subject.action */
export function keyPath(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

/** The keys the schema knows at a path (for "known keys here" and "did you mean"). */
function knownKeys(schema: z.ZodType, path: ReadonlyArray<PropertyKey>): string[] {
  let s: Def | undefined = mapping(schema);
  for (const step of path) {
    const next: z.ZodType | undefined = s?.def.type === 'object' ? s.def.shape?.[String(step)] : s?.def.type === 'array' ? s.def.element : undefined;
    s = next && mapping(next);
  }
  return s?.def.type === 'object' ? Object.keys(s.def.shape ?? {}) : [];
}

type Def = { def: { type: string; shape?: Record<string, z.ZodType>; element?: z.ZodType; options?: z.ZodType[] } };

/** The schema unwrapped, and of a union ("relay" or cert and key files) its mapping alternative. */
function mapping(schema: z.ZodType): Def {
  const s = unwrap(schema) as unknown as Def;
  if (s.def.type !== 'union') return s;
  const options = (s.def.options ?? []).map((o) => unwrap(o) as unknown as Def);
  return options.find((o) => o.def.type === 'object') ?? s;
}

/**
 * Every key the schema knows, as key paths (`relay.allow_networks`, `tenants[].school`); rule
 * settings as `policy.rules.<id>.<setting>`. What config/hallmonitor.example.yaml must document.
 */
export function keyPaths(schema: z.ZodType = configSchema, prefix = ''): string[] {
  const s = mapping(schema);
  if (s.def.type === 'array') return keyPaths(s.def.element!, `${prefix}[]`);
  if (s.def.type !== 'object') return [];
  return Object.entries(s.def.shape ?? {}).flatMap(([k, v]) => {
    const at = prefix ? `${prefix}.${k}` : k;
    return [at, ...keyPaths(v, at)];
  });
}

/** The schema inside optional, default, pipe (preprocess, transform) and the like. */
function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema as unknown as { def: { type: string; innerType?: unknown; in?: { def: { type: string } }; out?: unknown } };
  for (;;) {
    const d = s.def;
    if (d.innerType) s = d.innerType as typeof s;
    else if (d.type === 'pipe') s = (d.in!.def.type === 'transform' ? d.out : d.in) as typeof s;
    else return s as unknown as z.ZodType;
  }
}

