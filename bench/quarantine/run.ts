// How long a hold takes before the upstream may hear 250: the one transaction that writes the raw
// message, the incident, its history and its notices (SQLite with WAL + synchronous=FULL, and
// PostgreSQL), one at a time and 8 at once, for a 12 KB and a 1 MB message; and the same through
// the relay on loopback (SMTP DATA to the 250). Writes bench/quarantine/RESULTS.md.
//
//   node bench/quarantine/run.ts [--holds 200] [--postgres postgres://postgres@127.0.0.1:5432/test]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import pino from 'pino';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { SMTPServer } from 'smtp-server';
import { holdMessage, type HoldContext } from '../../src/act/hold.ts';
import { notifySettings } from '../../src/act/notify/settings.ts';
import { validateConfig, type Config } from '../../src/config/index.ts';
import { startGateway } from '../../src/gateway.ts';
import { openStore } from '../../src/store/index.ts';
import type { ReceivedMessage, Verdict } from '../../src/types.ts';
import { recordLoad } from '../load.ts';

const loadRecord = recordLoad();

const RESULTS = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
const { values: args } = parseArgs({ options: { holds: { type: 'string', default: '200' }, postgres: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' } } });
const N = Number(args.holds);

const verdict: Verdict = {
  action: 'quarantine', rules: ['unencrypted-sensitive-attachment'], severity: 4,
  findings: [{ rule: 'unencrypted-sensitive-attachment', detector: 'attachment-sensitivity', where: 'attachment:list.csv', evidence: '12 pupils named (A***** T********, …)', reason: 'The attachment holds personal data and is not encrypted.', score: 9 }],
};

function message(bytes: number): Buffer {
  const head = `From: Jane Hargreaves <j.hargreaves@oakfield.sch.uk>\r\nTo: bookings@coachtravel.example\r\nSubject: Trip list\r\nMessage-ID: <${randomBytes(6).toString('hex')}@oakfield.sch.uk>\r\n\r\n`;
  const line = 'The quick brown fox jumps over the lazy dog, and the class list is attached for Thursday.\r\n';
  return Buffer.from(head + line.repeat(Math.ceil((bytes - head.length) / line.length)));
}

function received(raw: Buffer): ReceivedMessage {
  return {
    id: `B${randomBytes(7).toString('hex').toUpperCase()}`,
    envelope: { mailFrom: 'j.hargreaves@oakfield.sch.uk', mailFromParams: {}, rcptTo: [{ address: 'bookings@coachtravel.example' }] },
    raw, receivedAt: new Date(), client: { address: '127.0.0.1', hostname: '', helo: 'exchange', tls: false },
  };
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const f = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1));

interface Row { store: string; size: string; mode: string; p50: number; p95: number; max: number; perSec: number }

async function measure(config: Config, label: string): Promise<Row[]> {
  const store = await openStore(config);
  const ctx: HoldContext = { store, notify: notifySettings(config), hostname: 'bench' };
  const rows: Row[] = [];
  try {
    for (const [size, bytes] of [['12 KB', 12_000], ['1 MB', 1_000_000]] as const) {
      const raw = message(bytes);
      const n = bytes > 100_000 ? Math.max(20, Math.floor(N / 4)) : N;
      for (let i = 0; i < 5; i++) await holdMessage(ctx, received(raw), verdict); // warm-up
      const one: number[] = [];
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        await holdMessage(ctx, received(raw), verdict);
        one.push(performance.now() - t);
      }
      rows.push({ store: label, size, mode: 'one at a time', p50: pct(one, 0.5), p95: pct(one, 0.95), max: Math.max(...one), perSec: n / ((performance.now() - t0) / 1000) });
      const eight: number[] = [];
      const t1 = performance.now();
      for (let i = 0; i < n; i += 8) {
        await Promise.all(Array.from({ length: 8 }, async () => {
          const t = performance.now();
          await holdMessage(ctx, received(raw), verdict);
          eight.push(performance.now() - t);
        }));
      }
      rows.push({ store: label, size, mode: '8 at once', p50: pct(eight, 0.5), p95: pct(eight, 0.95), max: Math.max(...eight), perSec: eight.length / ((performance.now() - t1) / 1000) });
    }
  } finally {
    await store.close();
  }
  return rows;
}

async function relay(config: Config, label: string): Promise<Row> {
  const sink = new SMTPServer({ logger: false, authOptional: true, disabledCommands: ['STARTTLS', 'AUTH'], onData(s, _x, cb) { s.resume(); s.on('end', () => cb()); } });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const c = { ...config, nextHop: { host: '127.0.0.1', port: (sink.server.address() as { port: number }).port, starttls: 'off' as const, secure: false, rejectUnauthorized: true, timeoutSeconds: 30 } };
  const gw = await startGateway(c, { logger: pino({ level: 'silent' }), inspector: async () => verdict });
  const port = gw.receiver.address().port;
  const raw = message(12_000);
  const conn = new SMTPConnection({ host: '127.0.0.1', port, ignoreTLS: true } as ConstructorParameters<typeof SMTPConnection>[0]);
  await new Promise<void>((r, j) => { conn.once('error', j); conn.connect(() => r()); });
  const times: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    await new Promise<void>((r, j) => conn.send({ from: 'j.hargreaves@oakfield.sch.uk', to: ['bookings@coachtravel.example'] }, raw, (err) => (err ? j(err) : conn.reset(() => r()))));
    times.push(performance.now() - t);
  }
  const perSec = N / ((performance.now() - t0) / 1000);
  conn.quit();
  await gw.stop();
  await new Promise<void>((r) => sink.close(() => r()));
  return { store: label, size: '12 KB', mode: 'SMTP DATA → 250 (relay, one connection)', p50: pct(times, 0.5), p95: pct(times, 0.95), max: Math.max(...times), perSec };
}

const dir = mkdtempSync(path.join(tmpdir(), 'hm-bench-quarantine-'));
const dbName = `hm_bench_quarantine_${process.pid}`;
const admin = new pg.Client(args.postgres);
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName}`);
const pgUrl = new URL(args.postgres);
pgUrl.pathname = `/${dbName}`;
const base = { data_dir: dir, hostname: 'bench.oakfield.sch.uk', health: { listen: null }, log: { level: 'silent' }, school: { business_manager: 'bm@oakfield.sch.uk', domains: ['oakfield.sch.uk'] } };
const rows: Row[] = [];
try {
  const sqliteConfig = validateConfig(base, '(bench)', {}, {}, dir);
  const pgConfig = validateConfig({ ...base, store: { database_url: pgUrl.toString() } }, '(bench)', {}, {}, dir);
  rows.push(...await measure(sqliteConfig, 'SQLite (WAL, synchronous=FULL)'));
  rows.push(...await measure(pgConfig, 'PostgreSQL 15 (loopback)'));
  rows.push(await relay(validateConfig({ ...base, data_dir: path.join(dir, 'relay') }, '(bench)', {}, {}, dir), 'SQLite (WAL, synchronous=FULL)'));
  rows.push(await relay(pgConfig, 'PostgreSQL 15 (loopback)'));
} finally {
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
}

const md = [
  `## Quarantine: holding a message (\`node bench/quarantine/run.ts\`)`,
  '',
  `The hold is one transaction (raw bytes, envelope, verdict, incident, history entry, 2 outbox rows) and the upstream hears 250 only after it commits. ${N} holds per row (a quarter of that for 1 MB), after 5 warm-up holds; the relay rows include SMTP on loopback, the test inspector (no detectors) and the outbox worker sending each hold's two notices to the sink meanwhile. The machine is shared with other engineers' work: compare rows within one run.`,
  '',
  `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}; ${loadRecord.describe()}.`,
  '',
  '| store | message | how | median | p95 | max | holds/s |',
  '|---|---|---|---:|---:|---:|---:|',
  ...rows.map((r) => `| ${r.store} | ${r.size} | ${r.mode} | ${f(r.p50)} ms | ${f(r.p95)} ms | ${f(r.max)} ms | ${Math.round(r.perSec)} |`),
  '',
  '- SQLite serialises writers: "8 at once" queues the holds behind one another (better-sqlite3 is synchronous, so each commit and its fsync also pause the event loop for its duration). Holds are rare next to deliveries (a few a day in a school), so this costs nothing in practice; a busy trust would use PostgreSQL.',
  '- The reference counter row (one per year) is the one point every hold on a shared PostgreSQL store passes through; it is held only for the rest of that transaction.',
  '',
].join('\n');
process.stdout.write(md);
if (loadRecord.mayWrite('bench/quarantine/RESULTS.md')) writeFileSync(RESULTS, md);
