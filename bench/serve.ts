// The real `hallmonitor serve`, as deployed, for the benchmarks that measure the whole gateway
// (bench/workers, bench/relay/latency.ts): its own configuration file in a temporary folder, the
// next hop given, JSON log lines to nowhere, ready when /health answers for every worker.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { freePort, sleep } from './relay/postfix.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/hallmonitor.js');

export interface Serve {
  port: number;
  health: number;
  proc: ChildProcess;
  dir: string;
}

/**
 * Starts `hallmonitor serve` relaying to 127.0.0.1:`nextHopPort`. `config` adds to (or replaces)
 * the top-level sections; `setup(dir)` may write files it refers to first (a roster, say).
 */
export async function startServe(nextHopPort: number, opts: { name: string; workers?: number; config?: (dir: string) => Record<string, unknown>; env?: Record<string, string> }): Promise<Serve> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `hm-bench-${opts.name}-`));
  const [port, health] = [await freePort(), await freePort()];
  const workers = opts.workers ?? 1;
  writeFileSync(path.join(dir, 'hallmonitor.yaml'), stringify({
    hostname: 'hallmonitor.bench',
    listen: `127.0.0.1:${port}`,
    data_dir: dir,
    next_hop: { host: '127.0.0.1', port: nextHopPort, starttls: 'off' },
    health: { listen: `127.0.0.1:${health}` },
    log: { level: 'info' },
    relay: { allow_networks: ['127.0.0.1/32'], max_clients: 1000, workers },
    ...opts.config?.(dir),
  }));
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('HALLMONITOR_') || k === 'NODE_CLUSTER_SCHED_POLICY') delete env[k];
  Object.assign(env, opts.env);
  const proc = spawn(process.execPath, [BIN, 'serve', '--config', path.join(dir, 'hallmonitor.yaml')], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  // Ready when /health says every worker answers (one process: when it answers at all).
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`serve with ${workers} worker(s) exited ${proc.exitCode}`);
    const h = await fetch(`http://127.0.0.1:${health}/health`).then((r) => r.json() as Promise<{ ok: boolean; workers?: { running: number } }>, () => undefined);
    if (h?.ok && (h.workers?.running ?? 1) === workers) break;
    if (i > 1200) throw new Error(`serve with ${workers} worker(s) did not start`);
    await sleep(100);
  }
  return { port, health, proc, dir };
}
