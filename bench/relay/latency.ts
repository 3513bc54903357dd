// Added latency through the whole gateway (issue 19): the real `hallmonitor serve` with a
// 2,000-pupil roster, every detector and the default policy, for 1 KB, 100 KB and 5 MB messages
// sent to a parent outside the school, at half the gateway's own maximum rate for that size.
// Not a test.
//
//   node bench/relay/latency.ts            full run (about two minutes)
//   node bench/relay/latency.ts --quick    shorter, for a smoke run
//   node bench/relay/latency.ts --force    write RESULTS-latency.md even on a busy machine
//
// For each size: the maximum rate is found first (closed loop: a fixed number of clients, each a
// new connection per message, for a few seconds). Then messages are started on a fixed schedule
// at half that rate (open loop: a message's start does not wait for the one before), each on a new
// connection, timed from connect to the 250 after DATA. The same schedule straight into smtp-sink
// is the baseline; "added" is the gateway's percentile minus the baseline's. The goal from the
// issue: p99 under 50 ms for messages under 1 MB at half the maximum rate.
import { rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { recordLoad } from '../load.ts';
import { Client } from './client.ts';
import { startServe } from '../serve.ts';
import { machine, sleep, startSmtpSink } from './postfix.ts';
import { FROM, letter, rosterCsv, TO } from './school-letter.ts';

const QUICK = process.argv.includes('--quick');
const PUPILS = 2000;
const SIZES = [
  { label: '1 KB', bytes: 1024, clients: 16, seconds: QUICK ? 2 : 5, messages: QUICK ? 300 : 1500 },
  { label: '100 KB', bytes: 100 * 1024, clients: 8, seconds: QUICK ? 2 : 5, messages: QUICK ? 100 : 400 },
  { label: '5 MB', bytes: 5 * 1024 * 1024, clients: 2, seconds: QUICK ? 4 : 10, messages: QUICK ? 10 : 40 },
];

/** The gateway's own event-loop lateness since the previous scrape (p99, worst), in ms. */
async function loopDelay(health: number): Promise<{ p99: number; max: number }> {
  const page = await (await fetch(`http://127.0.0.1:${health}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(page)?.[1] ?? NaN) * 1000;
  return { p99: value('hallmonitor_event_loop_delay_seconds'), max: value('hallmonitor_event_loop_delay_max_seconds') };
}

/** One message on a new connection: connect → 250 after DATA, in ms. */
async function once(port: number, message: Buffer): Promise<number> {
  const t0 = performance.now();
  const c = await Client.connect(port);
  await c.hello();
  await c.send(message, FROM, TO);
  const ms = performance.now() - t0;
  void c.quit();
  return ms;
}

/** Closed loop: `clients` at once, each sending one message after another, for `seconds`. */
async function maxRate(port: number, message: Buffer, clients: number, seconds: number): Promise<number> {
  let done = 0;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  await Promise.all(Array.from({ length: clients }, async () => {
    while (performance.now() < until) {
      await once(port, message);
      done++;
    }
  }));
  return done / ((performance.now() - t0) / 1000);
}

/** Open loop: `n` messages started every 1/rate seconds, whatever the ones before are doing. */
async function scheduled(port: number, message: Buffer, rate: number, n: number): Promise<number[]> {
  const times: number[] = [];
  const t0 = performance.now();
  const sends: Array<Promise<void>> = [];
  for (let i = 0; i < n; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    sends.push(once(port, message).then((ms) => void times.push(ms)));
  }
  await Promise.all(sends);
  return times.sort((a, b) => a - b);
}

const pct = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const f0 = (n: number) => n.toFixed(0);
const f1 = (n: number) => n.toFixed(1);

async function main() {
  const out: string[] = [];
  const say = (s = '') => {
    out.push(s);
    process.stdout.write(`${s}\n`);
  };
  say(`## Added latency through the whole gateway${QUICK ? ' (quick run)' : ''}`);
  say();
  for (const l of machine()) say(l);
  const loadRecord = recordLoad();
  say(`- command: \`node bench/relay/latency.ts${QUICK ? ' --quick' : ''}\``);
  say(`- the gateway: \`hallmonitor serve\` as deployed (one process, the default), a roster of ${PUPILS.toLocaleString('en-GB')} pupils, every detector, the default policy, SQLite store, JSON log lines to /dev/null; next hop and baseline: Postfix's smtp-sink`);
  say(`- each message: a letter to parents with no pupil in it, sent outside the school (${TO}), so every rule runs and it is delivered; a new connection per message`);
  say();
  const sink = await startSmtpSink();
  const gw = await startServe(sink.port, { name: 'latency', config: (dir) => ({ school: { domains: ['school.example.org'], roster: rosterCsv(dir, PUPILS), business_manager: 'bm@school.example.org' } }) });
  const rows: string[] = [];
  let goalMet = true;
  try {
    for (const s of SIZES) {
      const message = Buffer.from(`${letter(s.bytes, 'latency')}.\r\n`);
      await maxRate(gw.port, message, s.clients, Math.min(2, s.seconds)); // warm up
      const max = await maxRate(gw.port, message, s.clients, s.seconds);
      const rate = max / 2;
      await loopDelay(gw.health);
      const via = await scheduled(gw.port, message, rate, s.messages);
      const loop = await loopDelay(gw.health);
      const direct = await scheduled(sink.port, message, rate, s.messages);
      const [d50, d99, v50, v99] = [pct(direct, 0.5), pct(direct, 0.99), pct(via, 0.5), pct(via, 0.99)];
      if (s.bytes < 1024 * 1024 && v99 - d99 >= 50) goalMet = false;
      rows.push(`| ${s.label} | ${f0(max)} msg/s | ${f1(rate)} msg/s | ${s.messages} | ${f1(d50)} / ${f1(d99)} ms | ${f1(v50)} / ${f1(v99)} ms | **${f1(v50 - d50)} / ${f1(v99 - d99)} ms** | ${f1(loop.p99)} / ${f1(loop.max)} ms | ${os.loadavg()[0].toFixed(2)} |`);
      process.stdout.write(`${rows.at(-1)}\n`);
    }
  } finally {
    gw.proc.kill('SIGTERM');
    sink.proc.kill('SIGTERM');
    await sleep(500);
    rmSync(gw.dir, { recursive: true, force: true });
  }
  say('| message | maximum rate (closed loop) | rate measured at (half) | messages | smtp-sink direct p50 / p99 | through Hallmonitor p50 / p99 | added p50 / p99 | gateway event loop late by, p99 / worst | load (1 min) |');
  say('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) say(r);
  say();
  say(`Goal (p99 added under 50 ms for messages under 1 MB at half the maximum rate): **${goalMet ? 'met' : 'NOT met'}**.`);
  say();
  say(`- ${loadRecord.describe()}`);
  if (loadRecord.mayWrite('bench/relay/RESULTS-latency.md')) writeFileSync(path.join(import.meta.dirname, 'RESULTS-latency.md'), `${out.join('\n')}\n`);
}

await main();
