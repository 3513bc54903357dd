// Console accounts and sign-in on both storage back ends: `hallmonitor users add|reset|remove|list`
// through the real CLI, argon2id hashes, lock-out after repeated failures (and its end), sessions
// shared through the database, the console's configuration checks, and cookies over TLS.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError, validateConfig, type Config } from '../src/config/index.ts';
import { startConsole, type ConsoleServer } from '../src/review/console/index.ts';
import { consoleDb } from '../src/review/console/migrations.ts';
import { consoleSettings } from '../src/review/console/settings.ts';
import { openStore, type Store } from '../src/store/index.ts';
import { BACKENDS, BIN, blockVerdict, createPgDatabase, createStorage, OUTSIDER, schoolMessage, TEACHER, type Backend, type TestStorage } from './quarantine-helpers.ts';
import { holdMessage } from '../src/act/hold.ts';
import { signLink } from '../src/act/notify/links.ts';
import { notifySettings } from '../src/act/notify/settings.ts';
import { linkKey } from '../src/store/links.ts';
import { runCli as run, signInForm as signIn } from './helpers/console.ts';

describe.each(BACKENDS)('console accounts on %s', (backend: Backend) => {
  let storage: TestStorage;
  let configFile: string;
  let config: Config;
  let store: Store;
  let server: ConsoleServer;
  let base: string;
  let now = new Date('2026-11-25T10:00:00Z');

  beforeAll(async () => {
    storage = await createStorage(backend);
    const doc = { hostname: 'hallmonitor.test', data_dir: storage.dataDir, health: { listen: null }, store: storage.store, console: { listen: '127.0.0.1:0' }, school: { name: 'Oakfield Primary School' } };
    configFile = path.join(storage.dataDir, 'hallmonitor.yaml');
    writeFileSync(configFile, stringify(doc));
    config = validateConfig(doc, configFile, {}, {}, storage.dataDir);
    store = await openStore(config);
    server = await startConsole(config, store, { now: () => now });
    base = server.url;
  });

  afterAll(async () => {
    await server?.close();
    await store?.close();
    await storage?.cleanup();
  });

  it('adds an account with a generated password that signs in, hashed with argon2id', async () => {
    const r = await run(['users', 'add', 'Jo.Bloggs', '--role', 'business-manager', '--name', 'Jo Bloggs', '-c', configFile]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const password = /Password: (\S+)/.exec(r.stdout)![1];
    expect(password).toMatch(/^[a-z2-9]{5}(-[a-z2-9]{5}){3}$/);
    const row = await (await consoleDb(store)).selectFrom('console_users').selectAll().where('username', '=', 'jo.bloggs').executeTakeFirstOrThrow();
    expect(row.role).toBe('business-manager');
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(row.password_hash).not.toContain(password);
    const s = await signIn(base, 'jo.bloggs', password);
    expect(s.status).toBe(303);
    expect(s.cookie).toBeTruthy();
    const list = await run(['users', 'list', '-c', configFile]);
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/jo\.bloggs\s+business-manager\s+.*Jo Bloggs/);
  });

  it('refuses a duplicate account, an unknown role and a short password', async () => {
    const dup = await run(['users', 'add', 'jo.bloggs', '--role', 'auditor', '-c', configFile]);
    expect(dup.status).not.toBe(0);
    expect(dup.stderr).toContain('already exists');
    const role = await run(['users', 'add', 'someone', '--role', 'headteacher', '-c', configFile]);
    expect(role.status).not.toBe(0);
    expect(role.stderr).toContain('unknown role "headteacher"');
    const short = await run(['users', 'add', 'someone', '--role', 'auditor', '--password-stdin', '-c', configFile], 'short\n');
    expect(short.status).not.toBe(0);
    expect(short.stderr).toContain('at least 12 characters');
    // A single school: accounts have no school to belong to.
    const school = await run(['users', 'add', 'someone', '--role', 'auditor', '--school', 'oakfield', '-c', configFile]);
    expect(school.status).not.toBe(0);
    expect(school.stderr).toContain('this gateway serves one school');
    expect((await run(['users', 'list', '-c', configFile])).stdout).not.toContain('someone');
  });

  it('locks an account after 5 failed sign-ins for 15 minutes, even against the right password', async () => {
    const add = await run(['users', 'add', 'pat', '--role', 'auditor', '--password-stdin', '-c', configFile], 'the right password 1\n');
    expect(add.status).toBe(0);
    for (let i = 0; i < 4; i++) expect((await signIn(base, 'pat', `wrong password ${i}`)).status).toBe(401);
    const fifth = await signIn(base, 'pat', 'wrong password 5');
    expect(fifth.status).toBe(429);
    expect(fifth.body).toContain('this account is locked until');
    const right = await signIn(base, 'pat', 'the right password 1');
    expect(right.status).toBe(429);
    expect(right.cookie).toBeNull();
    now = new Date(now.getTime() + 14 * 60_000);
    expect((await signIn(base, 'pat', 'the right password 1')).status).toBe(429);
    now = new Date(now.getTime() + 2 * 60_000);
    expect((await signIn(base, 'pat', 'the right password 1')).status).toBe(303);
    // An unknown name is refused the same way as a wrong password.
    const unknown = await signIn(base, 'nobody', 'the right password 1');
    expect(unknown.status).toBe(401);
    expect(unknown.body).toContain('The user name or password is not right');
  });

  it('guesses sent all at once meet the lock-out too: no more than 5 passwords are checked', async () => {
    const add = await run(['users', 'add', 'sam', '--role', 'auditor', '--password-stdin', '-c', configFile], 'the right password 2\n');
    expect(add.status).toBe(0);
    const guesses = [...Array.from({ length: 24 }, (_, i) => `wrong password ${i}`), 'the right password 2'];
    const results = await Promise.all(guesses.map((p) => signIn(base, 'sam', p)));
    const checked = await (await consoleDb(store)).selectFrom('console_login_attempts').select('ok').where('username', '=', 'sam').where('ok', 'in', [0, 1]).execute();
    expect(checked.length).toBeLessThanOrEqual(5);
    expect(results.filter((r) => r.status === 401 || r.status === 303).length).toBeLessThanOrEqual(5);
    expect(results.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(20);
    // Nothing is left marked as being checked.
    expect(await (await consoleDb(store)).selectFrom('console_login_attempts').select('ok').where('username', '=', 'sam').where('ok', '=', 3).execute()).toEqual([]);
  });

  it('resets a password: the old sessions end and a lock-out lifts', async () => {
    const before = await signIn(base, 'pat', 'the right password 1');
    expect(before.status).toBe(303);
    for (let i = 0; i < 5; i++) await signIn(base, 'pat', `wrong again ${i}`);
    expect((await signIn(base, 'pat', 'the right password 1')).status).toBe(429);
    const reset = await run(['users', 'reset', 'pat', '--password-stdin', '-c', configFile], 'a brand new password 2\n');
    expect(reset.status).toBe(0);
    expect((await fetch(`${base}/register`, { headers: { cookie: before.cookie! }, redirect: 'manual' })).status).toBe(303);
    expect((await signIn(base, 'pat', 'the right password 1')).status).toBe(401);
    const after = await signIn(base, 'pat', 'a brand new password 2');
    expect(after.status).toBe(303);
    expect((await fetch(`${base}/register`, { headers: { cookie: after.cookie! } })).status).toBe(200);
  });

  it('removes an account: its sessions end at once', async () => {
    const s = await signIn(base, 'pat', 'a brand new password 2');
    const r = await run(['users', 'remove', 'pat', '-c', configFile]);
    expect(r.status).toBe(0);
    expect((await fetch(`${base}/register`, { headers: { cookie: s.cookie! }, redirect: 'manual' })).status).toBe(303);
    expect((await signIn(base, 'pat', 'a brand new password 2')).status).toBe(401);
    expect((await run(['users', 'list', '-c', configFile])).stdout).not.toContain('pat');
  });

  it('shares sessions between gateway instances through the database', async () => {
    const second = await startConsole(config, store, { now: () => now, instanceName: 'second instance' });
    try {
      const pw = await run(['users', 'reset', 'jo.bloggs', '--password-stdin', '-c', configFile], 'shared session pass 3\n');
      expect(pw.status).toBe(0);
      const s = await signIn(base, 'jo.bloggs', 'shared session pass 3');
      const res = await fetch(`${second.url}/queue`, { headers: { cookie: s.cookie! } });
      expect(res.status).toBe(200);
      const system = await (await fetch(`${second.url}/system`, { headers: { cookie: s.cookie! } })).text();
      expect(system).toContain('second instance');
    } finally {
      await second.close();
    }
  });

  it('ends a session after the idle time and after session_hours', async () => {
    const s = await signIn(base, 'jo.bloggs', 'shared session pass 3');
    now = new Date(now.getTime() + 61 * 60_000);
    expect((await fetch(`${base}/queue`, { headers: { cookie: s.cookie! }, redirect: 'manual' })).status).toBe(303);
    const t = await signIn(base, 'jo.bloggs', 'shared session pass 3');
    for (let i = 0; i < 9; i++) {
      now = new Date(now.getTime() + 55 * 60_000);
      const r = await fetch(`${base}/queue`, { headers: { cookie: t.cookie! }, redirect: 'manual' });
      expect(r.status, `after ${(i + 1) * 55} minutes`).toBe(i < 8 ? 200 : 303);
    }
  });
});

describe('console tables on a shared PostgreSQL database', () => {
  it('are created once when several gateways start together', async () => {
    const pgdb = await createPgDatabase();
    const dir = mkdtempSync(path.join(tmpdir(), 'hm-console-pg-'));
    try {
      const config = validateConfig({ hostname: 'h', data_dir: dir, health: { listen: null }, store: { database_url: pgdb.url } }, '(test)', {}, {}, dir);
      const stores = await Promise.all([1, 2, 3].map(() => openStore(config)));
      try {
        const dbs = await Promise.all(stores.map((s) => consoleDb(s)));
        const rows = await dbs[0].selectFrom('console_migration' as never).selectAll().execute() as Array<{ name: string }>;
        // Each migration recorded once, however many gateways raced to run it.
        expect(rows.map((r) => r.name).sort()).toEqual(['0001-console-accounts-sessions', '0002-console-account-school', '0003-console-account-email']);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    } finally {
      await pgdb.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('console configuration', () => {
  const base = { hostname: 'h', data_dir: '/tmp/x', health: { listen: null } };
  const settingsOf = (consoleDoc: unknown) => consoleSettings(validateConfig({ ...base, console: consoleDoc }, '(test)', {}, {}, '/tmp'));

  it('is off unless console.listen (or serve --console) is given', () => {
    expect(settingsOf({}).listen).toBeNull();
    expect(settingsOf({ listen: '127.0.0.1:8443' }).listen).toEqual({ host: '127.0.0.1', port: 8443 });
  });

  it('refuses to listen beyond this machine without TLS, and names the key', () => {
    expect(() => settingsOf({ listen: '0.0.0.0:8443' })).toThrow(/console\.tls: the console listens on 0\.0\.0\.0/);
    expect(settingsOf({ listen: '0.0.0.0:8443', public_url: 'https://hallmonitor.oakfield.sch.uk' }).secureCookies).toBe(true);
  });

  it('names every bad key', () => {
    try {
      settingsOf({ listen: 'nonsense', session_hours: 0, lockout: { failures: 'five' }, colour: 'blue' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const text = (err as ConfigError).problems.join('\n');
      expect(text).toContain('console.listen: expected HOST:PORT');
      expect(text).toContain('console.session_hours: 0 is out of range');
      expect(text).toContain('console.lockout.failures: expected a number');
      expect(text).toContain('console.colour: unknown key');
    }
  });
});

describe('console over TLS', () => {
  let dir: string;
  let config: Config;
  let store: Store;
  let server: ConsoleServer;
  let cert: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'hm-console-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    cert = readFileSync(path.join(dir, 'cert.pem'), 'utf8');
    const doc = { hostname: 'h', data_dir: dir, health: { listen: null }, console: { listen: '127.0.0.1:0', tls: { cert: 'cert.pem', key: 'key.pem' } } };
    writeFileSync(path.join(dir, 'hallmonitor.yaml'), stringify(doc));
    config = validateConfig(doc, path.join(dir, 'hallmonitor.yaml'), {}, {}, dir);
    store = await openStore(config);
    server = await startConsole(config, store);
  });

  afterAll(async () => {
    await server?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves HTTPS with Secure, __Host- cookies and HSTS', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await new Promise<{ status: number; headers: Record<string, string | string[] | undefined> }>((resolve, reject) => {
      https.get(`${server.url}/sign-in`, { ca: cert }, (r) => {
        r.resume();
        r.on('end', () => resolve({ status: r.statusCode!, headers: r.headers }));
      }).on('error', reject);
    });
    expect(res.status).toBe(200);
    const cookie = (res.headers['set-cookie'] as string[])[0];
    expect(cookie).toMatch(/^__Host-hm_signin=/);
    expect(cookie).toContain('Secure');
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000');
  });

  it('opens the sender\'s "send it anyway" page over HTTPS, its form cookie scoped to that page', async () => {
    const ctx = { store, notify: notifySettings(config), hostname: 'h' };
    const attempt = { id: 'TLSSENDER1', envelope: { mailFrom: TEACHER, mailFromParams: {}, rcptTo: [{ address: OUTSIDER }] }, raw: schoolMessage(), receivedAt: new Date(), client: { address: '127.0.0.1', hostname: '', helo: 'exchange', tls: false } };
    const { reference } = await holdMessage(ctx, attempt, blockVerdict());
    const token = signLink(await linkKey(store.db), { purpose: 'override', reference, to: TEACHER, expiresAt: new Date(Date.now() + 3_600_000) });
    const res = await new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
      https.get(`${server.url}/send-anyway/${token}`, { ca: cert }, (r) => {
        let body = '';
        r.on('data', (d: Buffer) => (body += d.toString()));
        r.on('end', () => resolve({ status: r.statusCode!, headers: r.headers, body }));
      }).on('error', reject);
    });
    expect(res.status, res.body).toBe(200);
    expect(res.body).toContain(`Your email ${reference}`);
    const cookie = (res.headers['set-cookie'] as string[]).find((c) => c.includes('hm_sender='))!;
    expect(cookie).toMatch(/^__Secure-hm_sender=/);
    expect(cookie).toContain('Path=/send-anyway');
    expect(cookie).toContain('Secure');
  });
});

describe('hallmonitor serve --console', () => {
  it('starts the console on the given address and says where it is', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hm-console-serve-'));
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('HALLMONITOR_')) delete env[k];
    const child = spawn(process.execPath, [BIN, 'serve', '--listen', '127.0.0.1:0', '--health', 'off', '--data', dir, '--console', `127.0.0.1:${port}`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const until = Date.now() + 30_000;
      let status = 0;
      while (Date.now() < until) {
        status = await fetch(`http://127.0.0.1:${port}/sign-in`).then((r) => r.status, () => 0);
        if (status) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(status, out).toBe(200);
      while (!out.includes('"event":"console-started"') && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      expect(out).toContain('"event":"console-started"');
      expect(out).toContain(`"url":"http://127.0.0.1:${port}"`);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
