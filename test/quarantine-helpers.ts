// Shared by the quarantine, store and notification tests: both storage back ends (SQLite in a
// temp directory, and a uniquely named database on the PostgreSQL server at 127.0.0.1:5432),
// a gateway that holds what its inspector says, realistic redacted verdicts, and a school
// message that names a pupil in its subject, body and attachment name.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import pg from 'pg';
import pino from 'pino';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { validateConfig, type Config } from '../src/config/index.ts';
import { startGateway, type Gateway } from '../src/gateway.ts';
import type { Inspector, Verdict } from '../src/types.ts';
import type { Sink } from './helpers/smtp.ts';

export const BIN = path.resolve(import.meta.dirname, '../bin/hallmonitor.js');
export const PG_ADMIN = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' };

export type Backend = 'sqlite' | 'postgres';
export const BACKENDS: Backend[] = ['sqlite', 'postgres'];

/** A fresh, uniquely named PostgreSQL database for one test file; dropped afterwards. */
export async function createPgDatabase(): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `hm_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client(PG_ADMIN);
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: `postgres://postgres@127.0.0.1:5432/${name}`,
    async drop() {
      const c = new pg.Client(PG_ADMIN);
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A place to keep one test's data: a temp dir, and for PostgreSQL its own database. */
export interface TestStorage {
  backend: Backend;
  dataDir: string;
  /** The `store:` section for the config. */
  store: Record<string, unknown>;
  /** Runs SQL directly against the store (to simulate faults). */
  sql(text: string): Promise<void>;
  cleanup(): Promise<void>;
}

export async function createStorage(backend: Backend): Promise<TestStorage> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'hm-quarantine-'));
  if (backend === 'sqlite') {
    return {
      backend,
      dataDir,
      store: {},
      async sql(text) {
        const { default: Sqlite } = await import('better-sqlite3');
        const db = new Sqlite(path.join(dataDir, 'hallmonitor.db'), { timeout: 10_000 });
        try {
          db.exec(text);
        } finally {
          db.close();
        }
      },
      async cleanup() {
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const db = await createPgDatabase();
  return {
    backend,
    dataDir,
    store: { database_url: db.url },
    async sql(text) {
      const c = new pg.Client(db.url);
      await c.connect();
      try {
        await c.query(text);
      } finally {
        await c.end();
      }
    },
    async cleanup() {
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const SCHOOL = {
  name: 'Oakfield Primary School',
  domains: ['oakfield.sch.uk'],
  business_manager: 'business.manager@oakfield.sch.uk',
  safeguarding_lead: 'dsl@oakfield.sch.uk',
  notifications_from: 'hallmonitor@oakfield.sch.uk',
};

export interface ConfigParts {
  storage: TestStorage;
  sink: Pick<Sink, 'host' | 'port'>;
  school?: Record<string, unknown>;
  policy?: Record<string, unknown>;
  console?: Record<string, unknown>;
  hostname?: string;
  listen?: string;
  /** The health endpoint's address (default: off). */
  health?: string;
  /** `dkim:` keys. */
  dkim?: Record<string, unknown>;
  /** `relay:` keys beside the loopback allow list. */
  relay?: Record<string, unknown>;
}

export function configDoc(p: ConfigParts): Record<string, unknown> {
  return {
    hostname: p.hostname ?? 'hallmonitor.oakfield.sch.uk',
    listen: p.listen ?? '127.0.0.1:0',
    data_dir: p.storage.dataDir,
    next_hop: { host: p.sink.host, port: p.sink.port, starttls: 'off', timeout_seconds: 5 },
    health: { listen: p.health ?? null },
    log: { level: 'info' },
    relay: { allow_networks: ['127.0.0.0/8'], ...p.relay },
    school: { ...SCHOOL, ...p.school },
    policy: p.policy ?? {},
    console: p.console ?? {},
    store: p.storage.store,
    ...(p.dkim ? { dkim: p.dkim } : {}),
  };
}

export function testConfig(p: ConfigParts): Config {
  return validateConfig(configDoc(p), '(test)', {}, {}, p.storage.dataDir);
}

export interface HoldingGateway {
  gateway: Gateway;
  port: number;
  config: Config;
  logText(): string;
  stop(): Promise<void>;
}

/**
 * A gateway whose inspector holds what the test says (without one, the real policy decides, with
 * the roster the school section names); the outbox polls quickly.
 */
export async function startHoldingGateway(p: ConfigParts & { inspector?: Inspector; retryBaseMs?: number }): Promise<HoldingGateway> {
  const config = testConfig(p);
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write(c: Buffer, _e, cb) { lines.push(c.toString('utf8')); cb(); } }));
  const gateway = await startGateway(config, { logger, inspector: p.inspector, outbox: { pollMs: 200, retryBaseMs: p.retryBaseMs ?? 200, maxRetryMs: 2_000 } });
  return { gateway, port: gateway.receiver.address().port, config, logText: () => lines.join(''), stop: () => gateway.stop() };
}

// ---------------------------------------------------------------------------------------------
// The pupil, the message and the verdicts
// ---------------------------------------------------------------------------------------------

/** A pupil name that must never appear in anything Hallmonitor sends about the message. */
export const PUPIL = { forename: 'Amelia', surname: 'Thornbury', full: 'Amelia Thornbury', redacted: 'A***** T********' };
export const TEACHER = 'j.hargreaves@oakfield.sch.uk';
export const OUTSIDER = 'bookings@coachtravel.example';

/** A realistic teacher's email naming the pupil in the subject, the body and the attachment name. */
export function schoolMessage(opts: { from?: string; to?: string[]; subject?: string; extraHeaders?: string } = {}): Buffer {
  const to = opts.to ?? [OUTSIDER];
  const boundary = '----=_Part_4471_oakfield';
  const csv = 'forename,surname,dob,medical\r\nAmelia,Thornbury,2016-03-14,asthma inhaler\r\nOliver,Pemberton,2016-07-02,none\r\n';
  return Buffer.from([
    `From: Jane Hargreaves <${opts.from ?? TEACHER}>`,
    `To: ${to.join(', ')}`,
    `Subject: ${opts.subject ?? `Trip list and medical needs - ${PUPIL.full} Year 5`}`,
    'Date: Tue, 24 Nov 2026 16:02:11 +0000',
    `Message-ID: <${randomBytes(6).toString('hex')}@oakfield.sch.uk>`,
    'MIME-Version: 1.0',
    ...(opts.extraHeaders ? [opts.extraHeaders] : []),
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    `Hi, please find attached the list for Thursday. ${PUPIL.full} needs her inhaler on the coach.`,
    'Thanks, Jane',
    '',
    `--${boundary}`,
    `Content-Type: text/csv; name="${PUPIL.full} trip list.csv"`,
    `Content-Disposition: attachment; filename="${PUPIL.full} trip list.csv"`,
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from(csv).toString('base64'),
    `--${boundary}--`,
    '',
  ].join('\r\n'));
}

/** What the policy says about that message: quarantine, with the evidence already redacted. */
export function quarantineVerdict(): Verdict {
  return {
    action: 'quarantine',
    rules: ['unencrypted-sensitive-attachment'],
    severity: 4,
    findings: [
      {
        rule: 'unencrypted-sensitive-attachment',
        detector: 'attachment-sensitivity',
        where: `attachment:${PUPIL.full} trip list.csv`,
        evidence: `2 pupils named (${PUPIL.redacted}, O***** P*******), 1 date of birth, health term`,
        reason: `The attachment ${PUPIL.full} trip list.csv is not encrypted and holds personal data: the names of 2 pupils, a date of birth and a health or medical condition.`,
        score: 7,
      },
    ],
  };
}

/** A blocked attempt: a pupil's name in the subject. */
export function blockVerdict(): Verdict {
  return {
    action: 'block',
    rules: ['pupil-name-in-subject'],
    severity: 2,
    findings: [
      { rule: 'pupil-name-in-subject', detector: 'pupil-name', where: 'subject', evidence: PUPIL.redacted, reason: `A pupil's name (${PUPIL.redacted}) is in the subject line.` },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Sending
// ---------------------------------------------------------------------------------------------

export interface SendResult { code: number; response: string }

/** Sends raw bytes with an envelope and returns the gateway's final reply (any code). */
export function sendRaw(port: number, from: string, to: string[], raw: Buffer): Promise<SendResult> {
  return new Promise((resolve, reject) => {
    const conn = new SMTPConnection({ host: '127.0.0.1', port, ignoreTLS: true, connectionTimeout: 10_000, socketTimeout: 30_000 } as ConstructorParameters<typeof SMTPConnection>[0]);
    // Every error, not only the first: a gateway killed just after the reply resets the socket
    // while the client says QUIT, and an error with no listener fails the whole test file.
    conn.on('error', reject);
    conn.connect(() => {
      conn.send({ from, to }, raw, (err, info) => {
        conn.quit();
        if (err) {
          const e = err as Error & { responseCode?: number; response?: string };
          if (e.responseCode) return resolve({ code: e.responseCode, response: e.response ?? e.message });
          return reject(err);
        }
        resolve({ code: Number(String(info.response).slice(0, 3)), response: String(info.response) });
      });
    });
  });
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Runs the real CLI in a child process. Asynchronous on purpose: the test's own SMTP sink must
 * keep answering while the CLI delivers through it.
 */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const clean = { ...process.env };
  for (const k of Object.keys(clean)) if (k.startsWith('HALLMONITOR_')) delete clean[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** True when `buf` contains `text` in any case, as UTF-8 or inside base64/quoted-printable-free text. */
export function mentions(buf: Buffer | string, text: string): boolean {
  const s = (typeof buf === 'string' ? buf : buf.toString('utf8')).toLowerCase();
  return s.includes(text.toLowerCase());
}

// ---------------------------------------------------------------------------------------------
// `hallmonitor serve` as a child process, with the school's real policy
// ---------------------------------------------------------------------------------------------

export interface ServeProcess {
  port: number;
  /** The health listener's port, when health.listen is on. */
  healthPort?: number;
  pid: number;
  output(): string;
  /** SIGKILL: no shutdown code runs at all. */
  crash(): Promise<void>;
  /** SIGTERM: a clean stop. */
  stop(): Promise<number | null>;
}

export async function spawnServe(configFile: string, args: string[] = []): Promise<ServeProcess> {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('HALLMONITOR_')) delete env[k];
  const child = spawn(process.execPath, [BIN, 'serve', '--config', configFile, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const until = Date.now() + 90_000;
  let port = 0;
  let healthPort: number | undefined;
  while (!port) {
    if (Date.now() > until || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`hallmonitor serve did not start:\n${out}`);
    }
    for (const line of out.split('\n')) {
      if (!line.startsWith('{')) continue;
      const o = JSON.parse(line) as { event?: string; listen?: string; worker?: unknown; health?: { port: number } };
      // Under --workers each worker says it started too: the gateway has started when the primary says so.
      if (o.event === 'started' && o.listen && (o.worker === undefined || o.worker === 'primary')) {
        port = Number(o.listen.split(':').at(-1));
        healthPort = o.health?.port;
      }
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    port,
    healthPort,
    pid: child.pid!,
    output: () => out,
    async crash() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** A roster export as the MIS writes it (the pupil is in it, so the real policy knows the name). */
export const ROSTER_CSV = [
  'UPN,Legal Surname,Legal Forename,Preferred Forename,DOB,Year,Reg Group,Primary Contact Email,Contact 2 Email',
  'Q823456789012,Thornbury,Amelia,,2015-03-14,5,5T,k.thornbury@gmail.com,',
  'E823456789013,Okonkwo,Chidi,,2014-11-02,6,6O,okonkwo.family@hotmail.co.uk,',
  'U823456789014,Fairweather,Grace,,2016-07-21,4,4F,fairweather.home@outlook.com,',
  '',
].join('\n');

function plainMessage(subject: string, body: string): Buffer {
  return Buffer.from([
    `From: Jane Hargreaves <${TEACHER}>`,
    `To: ${OUTSIDER}`,
    `Subject: ${subject}`,
    'Date: Tue, 24 Nov 2026 16:02:11 +0000',
    `Message-ID: <${randomBytes(6).toString('hex')}@oakfield.sch.uk>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    body,
    'Thanks, Jane',
    '',
  ].join('\r\n'));
}

/** The real policy quarantines this (identifier-in-message, personal-data-in-body): a valid NHS number and a pupil's asthma to a coach company. */
export function nhsNumberMessage(): Buffer {
  return plainMessage('Medical details for Thursday', `Hi, ${PUPIL.full} has asthma; her NHS number is 943 476 5919 in case of emergency on the coach.`);
}

/** The real policy blocks this (pupil-name-in-subject). */
export function nameInSubjectMessage(): Buffer {
  return plainMessage(`${PUPIL.full} - trip consent form`, `Hi, ${PUPIL.full} has returned the consent form for Thursday.`);
}
