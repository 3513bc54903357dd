// The one executable, as an IT lead runs it: `hallmonitor serve` with flags and no config file
// relays to a next hop; `--help` works; a bad configuration refuses to start and names the key.
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { ConfigError, loadConfig } from '../src/config/index.ts';
import { prettyLine } from '../src/logging.ts';
import { startSink, type Sink } from './helpers/smtp.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/hallmonitor.js');
let dir: string;
let sink: Sink;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'hm-relay-cli-'));
  sink = await startSink();
});
afterAll(async () => {
  await sink?.close();
  rmSync(dir, { recursive: true, force: true });
});

function run(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, HALLMONITOR_LISTEN: '', HALLMONITOR_NEXT_HOP: '' } });
}

describe('hallmonitor serve', () => {
  it('--help exits 0 and documents the flags', () => {
    const r = run(['serve', '--help']);
    expect(r.status).toBe(0);
    for (const flag of ['--config', '--listen', '--next-hop', '--data']) expect(r.stdout).toContain(flag);
  });

  /** `hallmonitor serve --listen 127.0.0.1:0 --next-hop <sink>` until it logs that it started. */
  async function serve(extraEnv: Record<string, string> = {}) {
    const env: Record<string, string | undefined> = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('HALLMONITOR_')) delete env[k];
    Object.assign(env, extraEnv);
    const child = spawn(process.execPath, [BIN, 'serve', '--listen', '127.0.0.1:0', '--next-hop', `127.0.0.1:${sink.port}`, '--health', 'off', '--data', path.join(dir, 'data')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const g = { child, out: '', err: '', exited: new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code))) };
    child.stdout.on('data', (d: Buffer) => (g.out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (g.err += d.toString()));
    const events = () => g.out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const until = Date.now() + 20_000;
    let started: Record<string, unknown> | undefined;
    while (!started) {
      if (Date.now() > until || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error(`gateway did not start\nstdout: ${g.out}\nstderr: ${g.err}`);
      }
      started = events().find((e) => e.event === 'started' && 'scanner' in e); // a relay worker's line, not the primary's
      await new Promise((r) => setTimeout(r, 20));
    }
    return { ...g, started, events, port: Number(String(started.listen).split(':').at(-1)) };
  }

  it('relays with --listen and --next-hop only, logs the outcome, and stops cleanly on SIGTERM', async () => {
    const g = await serve();
    try {
      expect(g.port).toBeGreaterThan(0);
      expect(g.started.scanner).toBe('native');
      const t = nodemailer.createTransport({ host: '127.0.0.1', port: g.port, secure: false, ignoreTLS: true } as never);
      const info = await t.sendMail({ envelope: { from: 'office@school.example', to: ['parent@home.example'] }, raw: 'Subject: Private matter\r\n\r\nhello\r\n' });
      t.close();
      expect(info.response).toMatch(/^250 /);
      await sink.waitForMessages(1);
      g.child.kill('SIGTERM');
      expect(await g.exited).toBe(0);
      const events = g.events();
      expect(events.find((e) => e.event === 'message')).toMatchObject({ reply: 250, rcpts: 1 });
      expect(events.some((e) => e.event === 'stopped')).toBe(true);
      expect(events.some((e) => e.event === 'slow-scanner')).toBe(false);
      expect(g.out).not.toContain('Private matter');
    } finally {
      if (g.child.exitCode === null) g.child.kill('SIGKILL');
    }
  });

  it('without the native word scanner it still runs, and tells the IT lead why it is slower', async () => {
    const g = await serve({ HALLMONITOR_WORD_PASS: 'javascript' });
    try {
      expect(g.started.scanner).toBe('javascript');
      expect(g.events().find((e) => e.event === 'slow-scanner')).toMatchObject({ level: 40, msg: expect.stringMatching(/native word pass is switched off .*scanning in JavaScript/) });
      g.child.kill('SIGTERM');
      expect(await g.exited).toBe(0);
    } finally {
      if (g.child.exitCode === null) g.child.kill('SIGKILL');
    }
  });

  it('a bad configuration exits 2, names the key, and never listens', () => {
    const file = path.join(dir, 'bad-key.yaml');
    writeFileSync(file, 'listen: 127.0.0.1:0\nrelay:\n  alow_networks: [10.0.0.0/8]\n');
    const r = run(['serve', '--config', file, '--next-hop', `127.0.0.1:${sink.port}`, '--health', 'off']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('relay.alow_networks: unknown key');
    expect(r.stdout).not.toContain('"started"');
  });

  it('a bad --next-hop exits 2 naming the flag', () => {
    const r = run(['serve', '--listen', '127.0.0.1:0', '--next-hop', 'smtp.example.org', '--health', 'off']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--next-hop: expected HOST:PORT/);
  });
});

describe('logs a person can read', () => {
  /** Runs serve (optionally under a pseudo-terminal made by util-linux `script`) until it has said it started. */
  async function startedOutput(opts: { env?: Record<string, string>; tty?: boolean }): Promise<string> {
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1' };
    for (const k of Object.keys(env)) if (k.startsWith('HALLMONITOR_')) delete env[k];
    Object.assign(env, opts.env);
    const args = [BIN, 'serve', '--listen', '127.0.0.1:0', '--next-hop', `127.0.0.1:${sink.port}`, '--health', 'off', '--data', path.join(dir, 'log-data')];
    const child = opts.tty
      ? spawn('script', ['-qec', [process.execPath, ...args].map((a) => `'${a}'`).join(' '), '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const until = Date.now() + 20_000;
    while (!/Hallmonitor is relaying/.test(out) && Date.now() < until && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    return out;
  }

  it('JSON lines when the output is piped (journald, log shippers)', async () => {
    const out = await startedOutput({});
    const started = out.split('\n').find((l) => l.includes('Hallmonitor is relaying'))!;
    expect(JSON.parse(started)).toMatchObject({ event: 'started', msg: 'Hallmonitor is relaying' });
  });

  it('one human line per event at a terminal, and with log.format: pretty (HALLMONITOR_LOG_FORMAT) when piped', async () => {
    for (const out of [await startedOutput({ tty: true }), await startedOutput({ env: { HALLMONITOR_LOG_FORMAT: 'pretty' } })]) {
      const started = out.split(/\r?\n/).find((l) => l.includes('Hallmonitor is relaying'))!;
      expect(started).toMatch(/^\d\d:\d\d:\d\d INFO  Hallmonitor is relaying {2}(worker=\d+ )?event=started .*listen=127\.0\.0\.1:\d+ nextHop=127\.0\.0\.1:\d+/);
      expect(out).not.toMatch(/^\{"level"/m);
    }
  });

  it('a pretty line escapes what a terminal would obey', () => {
    const line = prettyLine(JSON.stringify({ level: 40, time: '2026-12-06T10:00:00.000Z', msg: 'odd \u001b[2J client', helo: '\u001b]0;owned\u0007', n: 3 }));
    expect(line).toBe('10:00:00 WARN  odd \\u001b[2J client  helo="\\u001b]0;owned\\u0007" n=3\n');
    expect(line).not.toContain('\u001b');
  });
});

describe('a port that cannot be opened', () => {
  it('is said with the setting and the flag that chose it, exit 2, not a bare EADDRINUSE', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const r = run(['serve', '--listen', `127.0.0.1:${port}`, '--next-hop', `127.0.0.1:${sink.port}`, '--health', 'off', '--data', path.join(dir, 'busy-data')]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`cannot listen on 127.0.0.1:${port}: another program is already listening there. It is set by listen (or --listen, HALLMONITOR_LISTEN)`);
      expect(r.stderr).not.toMatch(/^hallmonitor: listen EADDRINUSE/m);
      const h = run(['serve', '--listen', '127.0.0.1:0', '--next-hop', `127.0.0.1:${sink.port}`, '--health', `127.0.0.1:${port}`, '--data', path.join(dir, 'busy-data')]);
      expect(h.status).toBe(2);
      expect(h.stderr).toContain('It is set by health.listen (or --health');
    } finally {
      busy.close();
    }
  });
});

describe('configuration validation names the key and the problem', () => {
  function problems(yaml: string): string[] {
    const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, yaml);
    try {
      loadConfig(file, {}, {});
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).problems;
    }
    throw new Error('configuration was accepted');
  }

  it('bad YAML gives the line', () => {
    expect(problems('listen: 127.0.0.1:2525\nrelay:\n  allow_networks: [127.0.0.1\n')).toEqual([expect.stringMatching(/^not valid YAML at line \d+/)]);
  });

  it('an unknown key is named with its section', () => {
    expect(problems('next_hop: {host: smtp.example.org, prot: 25}\n')).toEqual([expect.stringMatching(/^next_hop\.prot: unknown key/)]);
  });

  it('a bad HOST:PORT is named', () => {
    expect(problems('listen: localhost\nnext_hop: {host: smtp.example.org}\n')).toEqual([expect.stringMatching(/^listen: expected HOST:PORT/)]);
    expect(problems('next_hop: smtp.example.org:99999\n')).toEqual(expect.arrayContaining([expect.stringMatching(/^next_hop\.host: port 99999 is out of range/)]));
  });

  it('a next hop that is not a host name is named, once', () => {
    expect(problems('next_hop: host:25:x\n')).toEqual([expect.stringMatching(/^next_hop\.host: expected HOST:PORT/)]);
    expect(problems('next_hop: {host: "smtp example org", port: 25}\n')).toEqual([expect.stringMatching(/^next_hop\.host: "smtp example org" is not a host name or IP address/)]);
    expect(problems('next_hop: mx..example.org:25\n')).toEqual([expect.stringMatching(/^next_hop\.host: "mx\.\.example\.org" is not a host name/)]);
  });

  it('AUTH users without TLS are refused', () => {
    const p = problems('next_hop: {host: smtp.example.org}\nrelay:\n  users:\n    - {username: mx, password: a-long-enough-secret}\n');
    expect(p).toEqual([expect.stringMatching(/^relay\.users: SMTP AUTH needs relay\.tls/)]);
  });

  it('a bad network in the allow-list is named with its index', () => {
    expect(problems('next_hop: {host: smtp.example.org}\nrelay:\n  allow_networks: [10.0.0.0/8, 10.0.0.0/33]\n')).toEqual([
      expect.stringMatching(/^relay\.allow_networks\[1\]: /),
    ]);
  });

  it('every problem is reported at once', () => {
    const p = problems('listen: nope\nbogus: 1\nrelay:\n  max_message_bytes: ten\n');
    expect(p).toEqual(expect.arrayContaining([
      expect.stringMatching(/^bogus: unknown key/),
      expect.stringMatching(/^listen: /),
      expect.stringMatching(/^relay\.max_message_bytes: expected a number/),
    ]));
  });
});
