// Trust-sized load: many schools in one service, two gateway instances sharing PostgreSQL, a mixed
// corpus over concurrent connections, the real policy for every school.
//   node bench/trust/run.ts            (about two minutes)
//   node bench/trust/run.ts --quick
// Reports messages/s, p50/p99 latency, each instance's memory, and memory per school for 200
// schools of 1,000 pupils. Writes bench/trust/RESULTS.md.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpus, tmpdir } from 'node:os';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { recordLoad } from '../load.ts';

const loadRecord = recordLoad();

const QUICK = process.argv.includes('--quick');
const SCHOOLS = 100;
const PUPILS = 1000;
const MEMORY_SCHOOLS = 200;
const CONNECTIONS = 16;
const MESSAGES = QUICK ? 800 : 4000;
const ROOT = path.resolve(import.meta.dirname, '../..');
const work = mkdtempSync(path.join(tmpdir(), 'hm-bench-trust-'));
const children: ChildProcess[] = [];
const out: string[] = [];
const say = (s = '') => {
  out.push(s);
  console.log(s);
};

const FORENAMES = ['Amelia', 'Oliver', 'Isla', 'George', 'Ava', 'Noah', 'Mia', 'Leo', 'Freya', 'Arthur', 'Lily', 'Oscar', 'Sophia', 'Harry', 'Evie', 'Charlie', 'Theo', 'Poppy', 'Alfie', 'Ella', 'Zainab', 'Tomasz', 'Chidi', 'Aarav', 'Siobhan'];
const SURNAMES = ['Thornbury', 'Okonkwo', 'Fairweather', 'Kowalski', 'Hargreaves', 'Pemberton', 'Ashworth', 'Blackwood', 'Chaudhry', 'Delacroix', 'Ellison', 'Fitzgerald', 'Greenhalgh', 'Holloway', 'Ingram', 'Jarvis', 'Kingsley', 'Lockwood', 'Merriweather', 'Northcott'];
const pupilName = (school: number, i: number) => ({
  forename: FORENAMES[(i * 7 + school) % FORENAMES.length],
  surname: `${SURNAMES[(i * 3 + school * 11) % SURNAMES.length]}${i % 40 === 0 ? '' : `-${SURNAMES[(i + school) % SURNAMES.length]}`}`,
});

function writeTrust(schools: number, file: string, rosterFile: string) {
  const rows = ['School,UPN,Legal Surname,Legal Forename,Primary Contact Email'];
  for (let s = 0; s < schools; s++) {
    for (let i = 0; i < PUPILS; i++) {
      const n = pupilName(s, i);
      rows.push(`School ${s},,${n.surname},${n.forename},family${s}x${i}@gmail.com`);
    }
  }
  writeFileSync(rosterFile, rows.join('\n') + '\n');
  const tenants = Array.from({ length: schools }, (_, s) => `  - { id: school-${s}, name: School ${s}, domains: [school-${s}.sch.uk], roster_school: School ${s} }`);
  return (dbUrl: string | null, sinkPort: number) => writeFileSync(file, [
    'hostname: hallmonitor.bench',
    'listen: 127.0.0.1:0',
    `data_dir: ${path.join(work, 'data')}`,
    `next_hop: { host: 127.0.0.1, port: ${sinkPort}, starttls: off }`,
    'health: { listen: "off" }',
    'relay: { allow_networks: [127.0.0.0/8], max_clients: 1000 }',
    dbUrl ? `store: { database_url: "${dbUrl}" }` : '',
    'school: { business_manager: dpo@trust.example.org, partner_domains: [county.gov.uk] }',
    `trust: { name: Bench Trust, roster: ${rosterFile} }`,
    'tenants:',
    ...tenants,
    '',
  ].join('\n'));
}

function startInstance(configFile: string): Promise<{ proc: ChildProcess; port: number; startMs: number }> {
  const proc = spawn(process.execPath, [path.join(ROOT, 'bench/trust/gateway.ts'), configFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(proc);
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout! });
    rl.once('line', (line) => resolve({ proc, ...JSON.parse(line) }));
    proc.once('exit', (code) => reject(new Error(`gateway exited ${code}`)));
  });
}

function memory(pid: number): { rssMB: number; hwmMB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMB: Math.round(kb('VmRSS') / 1024), hwmMB: Math.round(kb('VmHWM') / 1024) };
}

function message(i: number): { from: string; to: string[]; raw: Buffer; kind: string } {
  const school = i % SCHOOLS;
  const from = `staff${i % 37}@school-${school}.sch.uk`;
  const to = ['bookings@coaches.example'];
  const kind = i % 10 < 7 ? 'clean' : i % 10 < 9 ? 'name-in-subject' : 'class-list';
  const p = pupilName(school, (i * 13) % PUPILS);
  const letter = 'Dear colleague,\r\n\r\nThank you for confirming the arrangements for our visit next week. The children will arrive by coach at around ten o\'clock and will need somewhere to leave their bags.\r\n'.repeat(8);
  const head = (subject: string, extra = '') => `From: ${from}\r\nTo: ${to[0]}\r\nSubject: ${subject}\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\nMessage-ID: <bench${i}@school-${school}.sch.uk>\r\nMIME-Version: 1.0\r\n${extra}`;
  if (kind === 'clean') return { from, to, kind, raw: Buffer.from(`${head('Our visit next week')}Content-Type: text/plain; charset=utf-8\r\n\r\n${letter}`) };
  if (kind === 'name-in-subject') return { from, to, kind, raw: Buffer.from(`${head(`Report for ${p.forename} ${p.surname}`)}Content-Type: text/plain; charset=utf-8\r\n\r\n${letter}`) };
  const csv = ['Forename,Surname,Dietary needs', ...Array.from({ length: 25 }, (_, k) => { const q = pupilName(school, (i + k * 17) % PUPILS); return `${q.forename},${q.surname},none`; })].join('\r\n');
  const body = `--b\r\nContent-Type: text/plain\r\n\r\n${letter}\r\n--b\r\nContent-Type: text/csv; name="group.csv"\r\nContent-Disposition: attachment; filename="group.csv"\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(csv).toString('base64').replace(/.{76}/g, '$&\r\n')}\r\n--b--\r\n`;
  return { from, to, kind, raw: Buffer.from(`${head('Group list for the visit', 'Content-Type: multipart/mixed; boundary="b"\r\n')}\r\n${body}`) };
}

async function client(port: number, jobs: number[], latencies: number[], codes: Map<number, number>) {
  const conn = new SMTPConnection({ host: '127.0.0.1', port, ignoreTLS: true, socketTimeout: 120_000 } as ConstructorParameters<typeof SMTPConnection>[0]);
  await new Promise<void>((resolve, reject) => {
    conn.once('error', reject);
    conn.connect(() => resolve());
  });
  for (const i of jobs) {
    const m = message(i);
    const t = performance.now();
    const code = await new Promise<number>((resolve) => conn.send({ from: m.from, to: m.to }, m.raw, (err, info) => {
      if (err) return resolve((err as { responseCode?: number }).responseCode ?? 0);
      resolve(Number(String(info.response).slice(0, 3)));
    }));
    latencies.push(performance.now() - t);
    codes.set(code, (codes.get(code) ?? 0) + 1);
    await new Promise<void>((resolve) => conn.reset(() => resolve()));
  }
  conn.quit();
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function main() {
  say('## Trust-sized load (`node bench/trust/run.ts`)');
  say();
  say(`Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}; load average at start ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}.`);
  say();

  // Memory per school: one instance holding 200 schools of 1,000 pupils (trust-wide export).
  const memConfig = path.join(work, 'memory.yaml');
  writeTrust(MEMORY_SCHOOLS, memConfig, path.join(work, 'roster-200.csv'))(null, 9);
  const baseline = await startInstance(writeBaseline());
  const base = memory(baseline.proc.pid!);
  baseline.proc.kill('SIGTERM');
  const big = await startInstance(memConfig);
  const bigMem = memory(big.proc.pid!);
  big.proc.kill('SIGTERM');
  say(`### Memory: ${MEMORY_SCHOOLS} schools of ${PUPILS} pupils in one instance`);
  say();
  say('| | resident memory | start-up |');
  say('|---|---:|---:|');
  say(`| one school, no roster | ${base.rssMB} MB | ${baseline.startMs} ms |`);
  say(`| ${MEMORY_SCHOOLS} schools × ${PUPILS} pupils | ${bigMem.rssMB} MB | ${big.startMs} ms |`);
  say();
  say(`Per school: ${(((bigMem.rssMB - base.rssMB) * 1024) / MEMORY_SCHOOLS).toFixed(0)} KB (target: 200 schools of 1,000 pupils in under 2 GB).`);
  say();

  // Throughput: two instances sharing PostgreSQL; Postfix's smtp-sink as the next hop.
  const db = `hm_bench_${process.pid}`;
  const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  const sinkPort = 20000 + (process.pid % 20000);
  const sink = spawn(sinkTool(), ['-u', 'postfix', '-c', `127.0.0.1:${sinkPort}`, '1000'], { stdio: 'ignore' });
  children.push(sink);
  await new Promise((r) => setTimeout(r, 500));
  const trustConfig = path.join(work, 'trust.yaml');
  writeTrust(SCHOOLS, trustConfig, path.join(work, 'roster-100.csv'))(`postgres://postgres@127.0.0.1:5432/${db}`, sinkPort);
  const a = await startInstance(trustConfig);
  const b = await startInstance(trustConfig);
  // Warm up both (inspection workers start on first use).
  await Promise.all([client(a.port, [0, 7, 9], [], new Map()), client(b.port, [1, 8, 19], [], new Map())]);
  const latencies: number[] = [];
  const codes = new Map<number, number>();
  const jobs = Array.from({ length: CONNECTIONS }, () => [] as number[]);
  for (let i = 0; i < MESSAGES; i++) jobs[i % CONNECTIONS].push(100 + i);
  const t0 = performance.now();
  await Promise.all(jobs.map((j, k) => client(k % 2 ? b.port : a.port, j, latencies, codes)));
  const seconds = (performance.now() - t0) / 1000;
  const held = await admin.query(`SELECT count(*)::int AS n FROM pg_database WHERE datname = $1`, [db]);
  const store = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: db });
  await store.connect();
  const incidents = (await store.query('SELECT action, count(*)::int AS n FROM incidents GROUP BY action ORDER BY action')).rows;
  await store.end();
  const memA = memory(a.proc.pid!);
  const memB = memory(b.proc.pid!);
  say(`### Throughput: ${SCHOOLS} schools × ${PUPILS} pupils, two instances, ${CONNECTIONS} connections, ${MESSAGES} messages`);
  say();
  say('Mixed corpus: 70% ordinary letters (delivered), 20% a pupil named in the subject (blocked and stored), 10% an unencrypted class list as a CSV attachment (quarantined and stored); each message from one of the 100 schools, checked against that school\'s roster.');
  say();
  say('| messages/s | p50 | p99 | replies | incidents stored | instance A memory (peak) | instance B memory (peak) |');
  say('|---:|---:|---:|---|---|---:|---:|');
  say(`| ${(MESSAGES / seconds).toFixed(0)} | ${pct(latencies, 50).toFixed(1)} ms | ${pct(latencies, 99).toFixed(1)} ms | ${[...codes].map(([c, n]) => `${c}: ${n}`).join(', ')} | ${incidents.map((r) => `${r.action}: ${r.n}`).join(', ')} | ${memA.rssMB} MB (${memA.hwmMB} MB) | ${memB.rssMB} MB (${memB.hwmMB} MB) |`);
  say();
  void held;
  a.proc.kill('SIGTERM');
  b.proc.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 1500));
  await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await admin.end();
}

function writeBaseline(): string {
  const file = path.join(work, 'baseline.yaml');
  writeFileSync(file, `hostname: hallmonitor.bench\nlisten: 127.0.0.1:0\ndata_dir: ${path.join(work, 'data-baseline')}\nnext_hop: { host: 127.0.0.1, port: 9, starttls: off }\nhealth: { listen: "off" }\n`);
  return file;
}

function sinkTool(): string {
  for (const p of ['/usr/sbin/smtp-sink', '/usr/lib/postfix/sbin/smtp-sink']) {
    try {
      execFileSync('test', ['-x', p]);
      return p;
    } catch {
      // next
    }
  }
  throw new Error('smtp-sink not found: install Debian\'s postfix package');
}

try {
  await main();
  out.push('', `Load: ${loadRecord.describe()}.`);
  if (loadRecord.mayWrite('bench/trust/RESULTS.md')) writeFileSync(path.join(ROOT, 'bench/trust/RESULTS.md'), out.join('\n') + '\n');
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
