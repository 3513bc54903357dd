// Every core (issue 19): the real `hallmonitor serve` with 1 relay worker against `--workers 2`,
// and Postfix's smtp-source → smtp-sink as the baseline, in the same run. Not a test.
//
//   node bench/workers/run.ts                 full run (best of 3 rounds, interleaved)
//   node bench/workers/run.ts --quick         a quarter of the messages, one round
//   node bench/workers/run.ts --force         write RESULTS.md even when the machine is busy
//
// Two workers are measured three ways of sharing the port: SO_REUSEPORT (the default on Linux: each
// worker its own socket), and node:cluster's two (NODE_CLUSTER_SCHED_POLICY=rr: the primary accepts
// and hands connections out in turn; none: the workers accept from one shared socket).
//
// Each gateway runs the CLI as deployed: the default policy (no roster), SQLite store, JSON log
// lines (to /dev/null), next hop smtp-sink. smtp-source drives every path with 20 sessions, 1 KB
// messages, a new connection per message and then connections reused.
//
// These machines are shared: the load average is printed beside every figure, and RESULTS.md is
// only written when the 1-minute load average was below 2 at the start (or with --force, which
// says so beside the figures). Figures taken on a busy machine are noise, not results.
import type { ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadavg, machine, runSmtpSource, startSmtpSink } from '../relay/postfix.ts';
import { startServe } from '../serve.ts';

const QUICK = process.argv.includes('--quick');
const FORCE = process.argv.includes('--force');
const ROUNDS = QUICK ? 1 : 3;
const SESSIONS = 20;
const MESSAGES = { fresh: QUICK ? 800 : 3000, reused: QUICK ? 1500 : 6000 };
const SETUPS: Array<{ label: string; workers: number; sched?: 'rr' | 'none' }> = [
  { label: '1 worker', workers: 1 },
  { label: '2 workers, SO_REUSEPORT', workers: 2 },
  { label: '2 workers, cluster rr', workers: 2, sched: 'rr' },
  { label: '2 workers, cluster none', workers: 2, sched: 'none' },
];
const QUIET_BELOW = 2;

const load1 = () => os.loadavg()[0];

interface Gateway { label: string; port: number; proc: ChildProcess; dir: string }

async function startGateway({ label, workers, sched }: (typeof SETUPS)[number], nextHopPort: number): Promise<Gateway> {
  const serve = await startServe(nextHopPort, { name: `workers-${workers}`, workers, env: sched ? { NODE_CLUSTER_SCHED_POLICY: sched } : {} });
  return { label, ...serve };
}

async function main() {
  const out: string[] = [];
  const say = (s = '') => {
    out.push(s);
    process.stdout.write(`${s}\n`);
  };
  const startLoad = load1();
  const quiet = startLoad < QUIET_BELOW;
  say(`## Every core: \`serve --workers\`${QUICK ? ' (quick run)' : ''}`);
  say();
  for (const l of machine()) say(l);
  say(`- load average at start: ${loadavg()}${quiet ? '' : ` — **busy machine (1-minute load ≥ ${QUIET_BELOW}): these figures are noise, not results**`}`);
  say(`- command: \`node bench/workers/run.ts${QUICK ? ' --quick' : ''}${FORCE ? ' --force' : ''}\``);
  say();

  const sink = await startSmtpSink();
  const gateways: Gateway[] = [];
  try {
    for (const setup of SETUPS) gateways.push(await startGateway(setup, sink.port));
    say(`### Throughput: smtp-source (${SESSIONS} sessions, 1 KB) → [gateway →] smtp-sink, best of ${ROUNDS}, rounds interleaved`);
    say();
    say('| connections | gateway | msg/s | against 1 worker | against smtp-sink | load average (1 min) during the rounds |');
    say('|---|---|---:|---:|---:|---|');
    for (const reuse of [false, true]) {
      const run = (port: number, messages: number) => runSmtpSource(port, { sessions: SESSIONS, messages, bytes: 1024, reuse, from: 'office@school.example', to: 'parent@home.example' });
      const messages = reuse ? MESSAGES.reused : MESSAGES.fresh;
      for (const g of gateways) await run(g.port, Math.round(messages / 10)); // warm up: JIT, next-hop connections
      const best = new Map<string, number>();
      const loads: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        for (const [name, port] of [['sink', sink.port], ...gateways.map((g) => [g.label, g.port] as const)] as const) {
          loads.push(load1());
          best.set(name, Math.max(best.get(name) ?? 0, await run(port, messages)));
        }
      }
      const [base, one] = [best.get('sink')!, best.get(SETUPS[0].label)!];
      const during = `${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)}`;
      const how = reuse ? 'reused' : 'new per message';
      say(`| ${how} | smtp-source → smtp-sink (baseline) | ${base.toFixed(0)} | | | ${during} |`);
      for (const g of gateways) {
        const rate = best.get(g.label)!;
        say(`| ${how} | ${g.label} | ${rate.toFixed(0)} | ${(rate / one).toFixed(2)}× | ${((100 * rate) / base).toFixed(1)}% | ${during} |`);
      }
    }
    say();
    say(`- load average at end: ${loadavg()}`);
  } finally {
    for (const g of gateways) {
      g.proc.kill('SIGTERM');
      await new Promise((r) => (g.proc.exitCode !== null ? r(undefined) : g.proc.once('exit', r)));
      rmSync(g.dir, { recursive: true, force: true });
    }
    sink.proc.kill('SIGTERM');
  }
  if (quiet || FORCE) {
    if (!quiet) out.splice(1, 0, '', `**Written with --force at load average ${startLoad.toFixed(2)}: not a result.**`);
    writeFileSync(path.join(import.meta.dirname, 'RESULTS.md'), `${out.join('\n')}\n\n${EXPECTATION}`);
    process.stdout.write('\nwritten to bench/workers/RESULTS.md\n');
  } else {
    process.stdout.write(`\nnot written: the 1-minute load average was ${startLoad.toFixed(2)} at the start (quiet means below ${QUIET_BELOW}); run again when the machine is quiet, or with --force for the record\n`);
  }
}

/** Kept under the figures in RESULTS.md: what more cores should give, reasoned, not measured. */
export const EXPECTATION = `### Expected scaling on 8 and 16 cores (an expectation, not a measurement)

- **Why it scales.** Each relay worker is a whole gateway: its own event loop, SMTP sessions,
  inspection threads and next-hop connections. Workers share nothing on the path of a delivered
  message except the listening socket: no lock, no store write (the store is written only for held
  mail, the outbox and the health probe). So up to the number of cores, relayed-and-delivered mail
  should scale close to linearly with the workers while each has a core of its own.
- **Nothing in between.** On Linux each worker listens on its own SO_REUSEPORT socket and the
  kernel hashes each new connection to one of them, so no process handles a connection before its
  worker does, and nothing serialises the workers. (node:cluster's round robin, still selectable
  with NODE_CLUSTER_SCHED_POLICY=rr, makes the primary accept every connection and pass it over IPC:
  serial, and on this 2-core machine it made 2 workers slower than 1.) The kernel's hash spreads
  connections evenly on average but not in turn: at a few hundred connections a second the
  imbalance is a few per cent.
- **8 cores.** \`relay.workers: 8\` (auto stops at 4, for memory) should give 6–7× one worker for delivered 1 KB
  mail with a new connection per message (≈ 6,500–7,500 msg/s from issue 19's 1,050), a little
  more with connections reused, provided the load generator and the next hop run elsewhere (here
  they share the cores).
- **16 cores.** \`auto\` gives 4 workers; \`relay.workers: 16\` should give 11–14× for delivered
  mail, the kernel's uneven spread, shared caches and memory bandwidth starting to show. Above 4 workers check memory
  first: each worker holds its own rosters and inspection threads (a single school with no roster:
  ~250 MB per worker here; deploy/hallmonitor.service caps the whole service at MemoryMax=2G).
- **Measured so far.** Issue 19, on this 2-core machine when quiet: two gateway processes together
  1,635 msg/s against one process's 991–1,401, with smtp-source and smtp-sink on the same 2 cores:
  on 2 cores the load generator and the next hop take part of the second core.
- **What does not scale with workers.** Held mail: every hold is a store transaction, and SQLite
  has one writer for the whole file, so quarantine throughput stays that of one writer however
  many workers there are (a trust with much held mail uses PostgreSQL). Retention, the outbox and
  the console run once, in the lead worker. \`limits.memory_mb\` is the whole gateway's and is
  shared out equally among the workers.
`;

await main();
