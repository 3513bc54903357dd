// Hallmonitor against its peers (issue 19), every figure from the same run on the same machine.
// Not a test.
//
//   node bench/relay/peers.ts            full run (a few minutes on 2 cores)
//   node bench/relay/peers.ts --quick    fewer messages, one round, for a smoke run (writes nothing)
//   node bench/relay/peers.ts --force    write RESULTS-peers.md even on a busy machine
//
// (a) Relay, 1 KB, a new connection per message. Postfix's smtp-source (SESSIONS parallel
//     sessions, the same options and the same message file for every path) sends to Postfix's
//     smtp-sink directly (the baseline), through Haraka 3.3.4 configured as a plain relay (the
//     `relay` plugin's ACL for 127.0.0.1, queue/smtp_forward to smtp-sink, nothing else), and
//     through Hallmonitor's relay path (bench/relay/gateway.ts: the production receiver and relay,
//     the inspection seam saying "deliver", as bench/relay/run.ts measures it). Haraka runs with
//     nodes=1 and with nodes=<cores>; Hallmonitor's `serve` with full inspection is measured with
//     workers=1 and workers=<cores> in (b) and set beside Haraka's matching row too. Target: ≥ 3×.
// (b) Full inspection of the same 1 KB letter. Hallmonitor: the real `serve` (bench/serve.ts)
//     with a 2,000-pupil roster, every detector and the default policy, the letter sent to a
//     parent outside the school so every rule runs, smtp-sink the next hop, driven by smtp-source
//     as in (a). Rspamd 3.4 (Debian's package): its normal worker scanning the same letter posted
//     to /checkv2, SESSIONS requests at once, by `rspamc -n` (C, like smtp-source) and by a Node
//     HTTP client with keep-alive; the better of the two is Rspamd's figure. Rspamd runs in the
//     foreground as the _rspamd user, with Debian's stock configuration but its own ports, its
//     own folders, no Redis (the modules that need it disable themselves) and a loopback name server
//     that answers at once (startDnsStub), so no scan waits on the network. Target: ≥ 2×.
//
// Haraka is never a project dependency: it is installed with npm into a cache under the system's
// temporary folder (kept between runs) and run from there with a configuration folder made here.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import dgram from 'node:dgram';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { recordLoad } from '../load.ts';
import { startServe, type Serve } from '../serve.ts';
import { freePort, machine, runSmtpSource, sleep, startSmtpSink, waitAccepting } from './postfix.ts';
import { startGatewayProcess } from './relay-process.ts';
import { FROM, letter, rosterCsv, TO } from './school-letter.ts';

const QUICK = process.argv.includes('--quick');
const SESSIONS = 16;
const ROUNDS = QUICK ? 1 : 2;
const RELAY_MESSAGES = QUICK ? 600 : 6000;
const INSPECT_MESSAGES = QUICK ? 300 : 3000;
const CORES = os.availableParallelism();
const WORKERS = [...new Set([1, CORES])];
const PUPILS = 2000;
const HARAKA = { version: '3.3.4', relay: '1.0.2' };
const RSPAMD = '/usr/bin/rspamd';

// ---------------------------------------------------------------------------------------------
// The load generator: smtp-source with the message file, the same options for every path
// ---------------------------------------------------------------------------------------------

/** smtp-source sending `messages` copies of `file`, a new connection each: messages per second. */
const smtpSource = (port: number, messages: number, file: string): Promise<number> => runSmtpSource(port, { sessions: SESSIONS, messages, file, reuse: false, from: FROM, to: TO });

/** Runs a command to its end; rejects with its standard error unless it exits 0. Returns stdout. */
function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${path.basename(cmd)} exited ${code}: ${err.trim().slice(0, 500)}`))));
  });
}

/** Best of ROUNDS runs of `measure`, after one warm-up of a tenth of the messages. */
async function best(measure: (messages: number) => Promise<number>, messages: number): Promise<number> {
  await measure(Math.max(SESSIONS, Math.round(messages / 10)));
  let top = 0;
  for (let r = 0; r < ROUNDS; r++) top = Math.max(top, await measure(messages));
  return top;
}

// ---------------------------------------------------------------------------------------------
// Haraka, from a cache under the temporary folder
// ---------------------------------------------------------------------------------------------

/** Haraka's folder in the cache, installed with npm on first use. */
function harakaInstall(): string {
  const cache = path.join(os.tmpdir(), 'hallmonitor-bench-haraka');
  const installed = (name: string) => {
    try {
      return (JSON.parse(readFileSync(path.join(cache, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      return undefined;
    }
  };
  if (installed('Haraka') !== HARAKA.version || installed('haraka-plugin-relay') !== HARAKA.relay) {
    console.log(`installing Haraka ${HARAKA.version} into ${cache} (once; kept between runs)`);
    mkdirSync(cache, { recursive: true });
    execFileSync('npm', ['install', '--prefix', cache, '--save-exact', '--no-audit', '--no-fund', '--loglevel=error', `Haraka@${HARAKA.version}`, `haraka-plugin-relay@${HARAKA.relay}`], { stdio: 'inherit' });
  }
  return path.join(cache, 'node_modules', 'Haraka');
}

type HarakaQueue = 'queue/smtp_forward' | 'queue/discard';
const HARAKA_QUEUES: HarakaQueue[] = ['queue/smtp_forward', 'queue/discard'];

interface Peer {
  port: number;
  proc: ChildProcess;
  dir: string;
}

/**
 * Haraka as a plain relay to smtp-sink: Haraka's default configuration files, then the plugins
 * list replaced by `relay` (ACL: 127.0.0.1 may relay) and `queue` (to smtp-sink, for
 * relayed mail too: enable_outbound), `nodes` processes, warnings and errors only in the log.
 * `queue/discard` instead of `queue/smtp_forward` measures Haraka's ceiling: it receives and
 * accepts each message and sends nothing on. (With smtp_forward, one session waits ~45 ms a
 * message here, about TCP's delayed acknowledgement, so Haraka's relay is bound by that wait
 * more than by its CPU; the ceiling shows what it would do without it.)
 */
async function startHaraka(home: string, nextHopPort: number, nodes: number, queue: HarakaQueue): Promise<Peer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hm-bench-haraka-'));
  const config = path.join(dir, 'config');
  cpSync(path.join(home, 'config'), config, { recursive: true });
  const port = await freePort();
  const files: Record<string, string> = {
    'smtp.ini': `listen=127.0.0.1:${port}\nnodes=${nodes}\n`,
    plugins: `relay\n${queue}\n`,
    'relay.ini': '[relay]\nacl=true\n',
    relay_acl_allow: '127.0.0.1/32\n',
    'smtp_forward.ini': `host=127.0.0.1\nport=${nextHopPort}\nenable_outbound=true\n`,
    'log.ini': '[main]\nlevel=warn\n',
    me: 'haraka.bench\n',
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(config, name), text);
  const proc = spawn(process.execPath, [path.join(home, 'bin', 'haraka'), '-c', dir], { stdio: ['ignore', 'ignore', 'ignore'], detached: true });
  await waitAccepting(port);
  await sleep(nodes * 500); // the cluster's other workers
  return { port, proc, dir };
}

// ---------------------------------------------------------------------------------------------
// Hallmonitor: the relay path alone (as run.ts), and the real `serve` with a roster
// ---------------------------------------------------------------------------------------------

const startRelayOnly = async (nextHopPort: number): Promise<Peer> => ({ ...(await startGatewayProcess(nextHopPort)), dir: '' });

/**
 * Hallmonitor's scan alone, the counterpart of Rspamd's /checkv2: the examiner `check` and the
 * relay use (MIME parsing, every detector, the personal-data model, every rule) on the same
 * letter with the same roster file and school, one message after another in this process (one
 * core, no SMTP): messages per second.
 */
async function examineRate(dir: string, message: Buffer, messages: number): Promise<number> {
  const { createExaminer } = await import('../../src/examine.ts');
  const { loadPolicy } = await import('../../src/decide/index.ts');
  const policy = loadPolicy({ source: 'bench', school: { domains: ['school.example.org'], roster: rosterCsv(dir, PUPILS), business_manager: 'bm@school.example.org' }, policy: {} });
  const examiner = await createExaminer({ policy });
  const envelope = { mailFrom: FROM, mailFromParams: {}, rcptTo: [{ address: TO }] };
  try {
    const run = async (n: number) => {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const { verdict } = await examiner.examine(message, envelope);
        if (verdict.action !== 'deliver') throw new Error(`the letter was not delivered: ${verdict.action} (${verdict.rules.join(', ')})`);
      }
      return n / ((performance.now() - t0) / 1000);
    };
    return await best(run, messages);
  } finally {
    await examiner.close();
  }
}

const startInspecting = (nextHopPort: number, workers: number): Promise<Serve> =>
  startServe(nextHopPort, { name: 'peers', workers, config: (dir) => ({ school: { domains: ['school.example.org'], roster: rosterCsv(dir, PUPILS), business_manager: 'bm@school.example.org' } }) });

/** How many messages the gateway delivered and held so far, from its /metrics page. */
async function outcomes(health: number): Promise<string> {
  const page = await (await fetch(`http://127.0.0.1:${health}/metrics`)).text();
  const lines = page.split('\n').filter((l) => /^hallmonitor_messages_total\{/.test(l));
  return lines.map((l) => l.replace(/^hallmonitor_messages_total/, '')).join(', ') || '(no hallmonitor_messages_total on /metrics)';
}

// ---------------------------------------------------------------------------------------------
// Rspamd: Debian's package, in the foreground, its own folders and ports
// ---------------------------------------------------------------------------------------------

function requireRspamd(): void {
  if (existsSync(RSPAMD)) return;
  console.error(`${RSPAMD} not found. Part (b) compares against Rspamd 3.4, Debian's rspamd package; install it (as root) with\n\n  apt-get install -y rspamd\n\nthen stop the service it may start (systemctl stop rspamd, or kill the rspamd main process): this harness runs its own.`);
  process.exit(2);
}

/** The CPU seconds used so far by `pid` and its children (to see a start-up finish). */
function cpuOf(pid: number): number {
  let ticks = 0;
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(p) === pid || Number(f[1]) === pid) ticks += Number(f[11]) + Number(f[12]);
    } catch { /* gone */ }
  }
  return ticks / 100;
}

/**
 * A name server on loopback that answers every question at once with NXDOMAIN. Rspamd's modules
 * look names up for each message (SPF, DMARC, DKIM keys, RBLs, …); with this machine's resolver
 * some questions went unanswered until Rspamd's 1 s timeout, which held a scan for a second and
 * capped Rspamd at ~25 msg/s whatever its workers. An instant answer is what a local caching
 * resolver gives for names it holds, so Rspamd runs every module and waits for no network, as
 * Hallmonitor (which looks nothing up) does.
 */
async function startDnsStub(): Promise<{ port: number; close: () => void }> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (q, from) => {
    if (q.length < 12) return;
    let end = 12; // the question's name, then its type and class
    while (end < q.length && q[end] !== 0) end += q[end] + 1;
    const a = Buffer.from(q.subarray(0, Math.min(end + 5, q.length)));
    a[2] = 0x80 | (q[2] & 0x79); // a response, with the question's opcode and recursion-desired bit
    a[3] = 0x80 | 3; // recursion available, NXDOMAIN
    a.writeUInt16BE(1, 4); // one question, no answer, authority or additional records
    a.fill(0, 6, 12);
    socket.send(a, from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, close: () => socket.close() };
}

/**
 * rspamd with `count` normal workers on a free port; the controller on another; the proxy off.
 * Stock modules, so those that need Redis (Bayes, ratelimit, greylisting, neural, …) disable
 * themselves, and fuzzy_check without its public servers (no network here) does too. The
 * compiled Hyperscan cache is kept between runs; names are asked of `dnsPort` (startDnsStub). Ready when /ping answers and its start-up work
 * (Hyperscan compilation, maps) has stopped using CPU.
 */
async function startRspamd(count: number, dnsPort: number): Promise<Peer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hm-bench-rspamd-'));
  const db = path.join(os.tmpdir(), 'hallmonitor-bench-rspamd-db');
  for (const d of ['override.d', 'run', 'log']) mkdirSync(path.join(dir, d), { recursive: true });
  mkdirSync(db, { recursive: true });
  const [port, controller, proxy] = [await freePort(), await freePort(), await freePort()];
  const override = (name: string, text: string) => writeFileSync(path.join(dir, 'override.d', name), `${text}\n`);
  override('worker-normal.inc', `bind_socket = "127.0.0.1:${port}"; count = ${count};`);
  override('worker-controller.inc', `bind_socket = "127.0.0.1:${controller}";`);
  override('worker-proxy.inc', `enabled = false; bind_socket = "127.0.0.1:${proxy}";`);
  override('options.inc', `dns { nameserver = ["127.0.0.1:${dnsPort}"]; }`);
  override('logging.inc', `type = "file"; filename = "${path.join(dir, 'log', 'rspamd.log')}"; level = "error";`);
  const asUser: string[] = [];
  if (process.getuid?.() === 0) {
    // rspamd will not run its workers as root: the Debian package's own user, owning our folders.
    const [uid, gid] = ['-u', '-g'].map((f) => Number(execFileSync('id', [f, '_rspamd'], { encoding: 'utf8' })));
    for (const d of [dir, path.join(dir, 'override.d'), path.join(dir, 'run'), path.join(dir, 'log'), db]) chownSync(d, uid, gid);
    asUser.push('-u', '_rspamd', '-g', '_rspamd');
  }
  const vars = { LOCAL_CONFDIR: dir, DBDIR: db, RUNDIR: path.join(dir, 'run'), LOGDIR: path.join(dir, 'log') };
  const args = ['-f', ...asUser, '-c', '/etc/rspamd/rspamd.conf', ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}=${v}`])];
  const proc = spawn(RSPAMD, args, { stdio: 'ignore', detached: true });
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`rspamd exited ${proc.exitCode}; see ${path.join(dir, 'log', 'rspamd.log')}`);
    if (await fetch(`http://127.0.0.1:${port}/ping`).then((r) => r.ok, () => false)) break;
    if (i > 600) throw new Error('rspamd did not start in 60 s');
    await sleep(100);
  }
  for (let i = 0, before = cpuOf(proc.pid!); i < 120; i++) {
    await sleep(1000);
    const now = cpuOf(proc.pid!);
    if (now - before < 0.05) break;
    before = now;
  }
  return { port, proc, dir };
}

/** rspamc (C) scanning `messages` copies of `file`, SESSIONS at once: messages per second. */
async function rspamc(port: number, messages: number, file: string): Promise<number> {
  const t0 = performance.now();
  const out = await run('/usr/bin/rspamc', ['-h', `127.0.0.1:${port}`, '-n', String(SESSIONS), ...Array.from({ length: messages }, () => file)]);
  const rate = messages / ((performance.now() - t0) / 1000);
  const scanned = out.match(/^Action: /gm)?.length ?? 0;
  if (scanned !== messages) throw new Error(`rspamc scanned ${scanned} of ${messages} messages`);
  return rate;
}

/** The same letter posted to /checkv2 by this process, SESSIONS requests at once on kept-alive connections. */
async function checkv2(port: number, messages: number, message: Buffer): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: SESSIONS });
  const post = () => new Promise<void>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/checkv2', method: 'POST', agent, headers: { 'content-length': message.length } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => (res.statusCode === 200 && body.includes('"action"') ? resolve() : reject(new Error(`/checkv2 answered ${res.statusCode}: ${body.slice(0, 200)}`))));
    });
    req.on('error', reject);
    req.end(message);
  });
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: SESSIONS }, async () => {
    while (next++ < messages) await post();
  }));
  const rate = messages / ((performance.now() - t0) / 1000);
  agent.destroy();
  return rate;
}

// ---------------------------------------------------------------------------------------------

/** Stops a process started here (and its cluster workers: its process group when detached). */
async function stop(p: { proc: ChildProcess; dir: string }, group: boolean): Promise<void> {
  try {
    if (group) process.kill(-p.proc.pid!, 'SIGTERM');
    else p.proc.kill('SIGTERM');
  } catch { /* already gone */ }
  for (let i = 0; i < 50 && p.proc.exitCode === null && p.proc.signalCode === null; i++) await sleep(100);
  if (group) {
    try {
      process.kill(-p.proc.pid!, 'SIGKILL');
    } catch { /* all gone */ }
  }
  if (p.dir) rmSync(p.dir, { recursive: true, force: true });
}

const f0 = (n: number) => n.toLocaleString('en-GB', { maximumFractionDigits: 0 });
const f2 = (n: number) => n.toFixed(2);

async function main() {
  requireRspamd();
  const out: string[] = [];
  const say = (s = '') => {
    out.push(s);
    process.stdout.write(`${s}\n`);
  };
  say(`## Hallmonitor against Haraka and Rspamd${QUICK ? ' (quick run)' : ''}`);
  say();
  for (const l of machine()) say(l);
  say(`- ${execFileSync(RSPAMD, ['--version'], { encoding: 'utf8' }).trim().split('\n')[0]} (Debian's package); Haraka ${HARAKA.version} with haraka-plugin-relay ${HARAKA.relay} (npm, in a cache under the system's temporary folder)`);
  const loadRecord = recordLoad();
  say(`- command: \`node bench/relay/peers.ts${QUICK ? ' --quick' : ''}\``);
  say(`- every SMTP path: Postfix's smtp-source, ${SESSIONS} sessions, a new connection per message, the same 1 KB letter to parents (\`-F\`, no pupil in it, sent outside the school), smtp-sink as the next hop; each figure the best of ${ROUNDS} after a warm-up`);
  say();

  const home = harakaInstall();
  const work = mkdtempSync(path.join(os.tmpdir(), 'hm-bench-peers-'));
  const file = path.join(work, 'letter.eml');
  // smtp-source and rspamc read the file with LF line ends (smtp-source sends CRLF); the Node
  // client posts the CRLF original.
  const message = Buffer.from(letter(1024, 'peers'));
  writeFileSync(file, message.toString('latin1').replaceAll('\r\n', '\n'));
  const sink = await startSmtpSink();
  const started: Array<{ proc: ChildProcess; dir: string; group: boolean }> = [];
  const track = <T extends { proc: ChildProcess; dir: string }>(p: T, group: boolean): T => (started.push({ ...p, group }), p);
  const stopTracked = async (p: { proc: ChildProcess }) => {
    const i = started.findIndex((s) => s.proc === p.proc);
    if (i < 0) return;
    const [s] = started.splice(i, 1);
    await stop(s, s.group);
  };
  let stopDns = () => {};
  try {
    // (a) relay
    const base = await best((n) => smtpSource(sink.port, n, file), RELAY_MESSAGES);
    process.stdout.write(`baseline ${f0(base)} msg/s\n`);
    const haraka = new Map<string, number>();
    for (const queue of HARAKA_QUEUES) {
      for (const nodes of WORKERS) {
        const h = track(await startHaraka(home, sink.port, nodes, queue), true);
        haraka.set(`${queue} ${nodes}`, await best((n) => smtpSource(h.port, n, file), RELAY_MESSAGES));
        process.stdout.write(`Haraka ${queue} nodes=${nodes} ${f0(haraka.get(`${queue} ${nodes}`)!)} msg/s\n`);
        await stopTracked(h);
      }
    }
    const harakaRate = (queue: HarakaQueue, nodes: number) => haraka.get(`${queue} ${nodes}`)!;
    const relay = track(await startRelayOnly(sink.port), false);
    const hmRelay = await best((n) => smtpSource(relay.port, n, file), RELAY_MESSAGES);
    process.stdout.write(`Hallmonitor relay path ${f0(hmRelay)} msg/s\n`);
    await stopTracked(relay);

    // (b) full inspection
    const inspecting = new Map<number, { rate: number; outcomes: string }>();
    for (const workers of WORKERS) {
      const gw = track(await startInspecting(sink.port, workers), false);
      const rate = await best((n) => smtpSource(gw.port, n, file), INSPECT_MESSAGES);
      inspecting.set(workers, { rate, outcomes: await outcomes(gw.health) });
      process.stdout.write(`Hallmonitor serve workers=${workers} ${f0(rate)} msg/s\n`);
      await stopTracked(gw);
    }
    const scanOnly = await examineRate(work, message, INSPECT_MESSAGES);
    process.stdout.write(`Hallmonitor scan only (examiner, one core) ${f0(scanOnly)} msg/s\n`);
    const rspamd = new Map<number, { rspamc: number; http: number }>();
    const dns = await startDnsStub();
    stopDns = dns.close;
    for (const count of WORKERS) {
      const r = track(await startRspamd(count, dns.port), true);
      const viaRspamc = await best((n) => rspamc(r.port, n, file), INSPECT_MESSAGES);
      const viaHttp = await best((n) => checkv2(r.port, n, message), INSPECT_MESSAGES);
      rspamd.set(count, { rspamc: viaRspamc, http: viaHttp });
      process.stdout.write(`Rspamd count=${count} rspamc ${f0(viaRspamc)} msg/s, Node /checkv2 ${f0(viaHttp)} msg/s\n`);
      await stopTracked(r);
    }

    say(`### (a) Relay: 1 KB, a new connection per message (target: Hallmonitor ≥ 3× Haraka)`);
    say();
    say('| path | processes | msg/s | of the smtp-source → smtp-sink baseline |');
    say('|---|---:|---:|---:|');
    say(`| smtp-source → smtp-sink (baseline) | – | ${f0(base)} | 100% |`);
    for (const nodes of WORKERS) {
      const relayed = harakaRate('queue/smtp_forward', nodes);
      const ceiling = harakaRate('queue/discard', nodes);
      say(`| Haraka ${HARAKA.version}, plain relay (relay ACL, queue/smtp_forward) | nodes=${nodes} | ${f0(relayed)} | ${f0((100 * relayed) / base)}% |`);
      say(`| Haraka ${HARAKA.version}, receive only (relay ACL, queue/discard: nothing sent on) | nodes=${nodes} | ${f0(ceiling)} | ${f0((100 * ceiling) / base)}% |`);
    }
    say(`| Hallmonitor relay path (bench/relay/gateway.ts: inspection seam says deliver) | 1 | ${f0(hmRelay)} | ${f0((100 * hmRelay) / base)}% |`);
    for (const [workers, r] of inspecting) say(`| Hallmonitor \`serve\`, full inspection (2,000 pupils, every detector) | workers=${workers} | ${f0(r.rate)} | ${f0((100 * r.rate) / base)}% |`);
    say();
    const ratioA = hmRelay / harakaRate('queue/smtp_forward', 1);
    const ratioCeiling = hmRelay / harakaRate('queue/discard', 1);
    say(`- Hallmonitor relay path / Haraka relaying (smtp_forward), nodes=1, same run: **${f2(ratioA)}× — ${ratioA >= 3 ? 'met' : 'NOT met'}** (target ≥ 3×)`);
    say(`- Hallmonitor relay path / Haraka receiving only (discard, its ceiling), nodes=1, same run: ${f2(ratioCeiling)}×`);
    for (const w of WORKERS) say(`- Hallmonitor \`serve\` inspecting every message, workers=${w} / Haraka relaying only, nodes=${w}: ${f2(inspecting.get(w)!.rate / harakaRate('queue/smtp_forward', w))}×; / Haraka receiving only: ${f2(inspecting.get(w)!.rate / harakaRate('queue/discard', w))}×`);
    say();

    say(`### (b) Full inspection: the same 1 KB letter, ${SESSIONS} at once (target: Hallmonitor ≥ 2× Rspamd)`);
    say();
    say('| scanner | processes | msg/s | how |');
    say('|---|---:|---:|---|');
    say(`| Hallmonitor, scan only | 1 (this process) | ${f0(scanOnly)} | the examiner \`check\` and the relay use, one message after another: MIME parsing, every detector, the personal-data model, every rule; verdict deliver |`);
    for (const [w, r] of inspecting) say(`| Hallmonitor \`serve\` | workers=${w} | ${f0(r.rate)} | smtp-source → serve → smtp-sink: received, inspected, relayed (outcomes on /metrics: ${r.outcomes}) |`);
    for (const [c, r] of rspamd) {
      say(`| Rspamd 3.4, scan only | normal workers=${c} | ${f0(r.rspamc)} | \`rspamc -n ${SESSIONS}\` → /checkv2 |`);
      say(`| Rspamd 3.4, scan only | normal workers=${c} | ${f0(r.http)} | Node HTTP keep-alive, ${SESSIONS} at once → /checkv2 |`);
    }
    say();
    const r1 = rspamd.get(1)!;
    const scanRatio = scanOnly / Math.max(r1.rspamc, r1.http);
    say(`- Hallmonitor scan only, one process / Rspamd scan only, one normal worker (its best client, ${f0(Math.max(r1.rspamc, r1.http))} msg/s), same run: **${f2(scanRatio)}× — ${scanRatio >= 2 ? 'met' : 'NOT met'}** (target ≥ 2×)`);
    for (const w of WORKERS) {
      const r = rspamd.get(w)!;
      const bestRspamd = Math.max(r.rspamc, r.http);
      const ratio = inspecting.get(w)!.rate / bestRspamd;
      say(`- Hallmonitor \`serve\` workers=${w} (SMTP in, scan, SMTP out) / Rspamd's scan only with ${w} normal worker(s) (${r.rspamc >= r.http ? 'rspamc' : 'Node /checkv2'}, ${f0(bestRspamd)} msg/s), same run: ${f2(ratio)}×`);
    }
    say();
    say(`- ${loadRecord.describe()}`);
  } finally {
    stopDns();
    for (const p of started.splice(0)) await stop(p, p.group);
    sink.proc.kill('SIGTERM');
    await sleep(200);
    rmSync(work, { recursive: true, force: true });
  }
  // A quick run is a smoke run: its figures are never written as results.
  if (QUICK) console.log('quick run: bench/relay/RESULTS-peers.md not written');
  else if (loadRecord.mayWrite('bench/relay/RESULTS-peers.md')) writeFileSync(path.join(import.meta.dirname, 'RESULTS-peers.md'), `${out.join('\n')}\n`);
}

await main();
