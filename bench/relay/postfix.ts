// Postfix's own tools as the benchmarks' baseline and load generator: smtp-sink (the next hop)
// and smtp-source (the school's mail server), from Debian's postfix package. Used by
// bench/relay/run.ts and bench/workers/run.ts.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';

export function tool(name: string): string {
  for (const dir of ['/usr/sbin', '/usr/lib/postfix/sbin']) {
    const p = path.join(dir, name);
    if (existsSync(p)) return p;
  }
  throw new Error(`${name} not found: install Debian's postfix package (apt-get install postfix)`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function waitAccepting(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(25);
  }
  throw new Error(`nothing listening on ${port}`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startSmtpSink(): Promise<{ port: number; proc: ChildProcess }> {
  const port = await freePort();
  // -u: required as root (drops to that user after binding). 1024: listen backlog.
  const proc = spawn(tool('smtp-sink'), ['-u', 'postfix', '-m', '1000', `127.0.0.1:${port}`, '1024'], { stdio: 'ignore' });
  await waitAccepting(port);
  return { port, proc };
}

/** `bytes`: messages of that size made by smtp-source; `file`: copies of that message (-F, LF line ends). */
export interface SourceRun { sessions: number; messages: number; bytes?: number; file?: string; reuse: boolean; from: string; to: string }

/** smtp-source sending `messages` to the port: messages per second. */
export async function runSmtpSource(port: number, r: SourceRun): Promise<number> {
  const body = r.file ? ['-F', r.file] : ['-l', String(r.bytes ?? 1024)];
  const args = ['-s', String(r.sessions), '-m', String(r.messages), ...body, '-f', r.from, '-t', r.to, '-M', 'mx.school.example', ...(r.reuse ? ['-d'] : []), `127.0.0.1:${port}`];
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const p = spawn(tool('smtp-source'), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`smtp-source ${args.join(' ')} exited ${code}: ${err.trim()}`))));
  });
  return r.messages / ((performance.now() - t0) / 1000);
}

/** The machine and the baseline's version, for the head of a RESULTS.md. */
export function machine(): string[] {
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  let postfix = 'unknown';
  try {
    postfix = execFileSync('postconf', ['-d', '-h', 'mail_version'], { encoding: 'utf8' }).trim();
  } catch { /* reported as unknown */ }
  return [
    `- nproc: ${execFileSync('nproc', { encoding: 'utf8' }).trim()}; CPU: ${cpu}; memory: ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    `- Node ${process.version}; Postfix ${postfix} (smtp-source, smtp-sink)`,
  ];
}

export function loadavg(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}
