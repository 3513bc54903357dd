// When the quarantine cannot be written, the upstream hears 451 and retries, and nothing is half
// kept; with block_mode: reject a blocked message is refused at SMTP with its reference.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headerValue } from '../src/act/notify/plan.ts';
import { findIncident, heldMessage, listIncidents } from '../src/store/incidents.ts';
import { outboxFor } from '../src/store/outbox.ts';
import type { Verdict } from '../src/types.ts';
import { RawSmtp, startSink, type Sink } from './helpers/smtp.ts';
import {
  BACKENDS, blockVerdict, createStorage, OUTSIDER, PUPIL, quarantineVerdict, schoolMessage, SCHOOL, sendRaw, startHoldingGateway, TEACHER,
  waitFor, type Backend, type HoldingGateway, type TestStorage,
} from './quarantine-helpers.ts';

const inspector = async (m: { raw: Buffer }): Promise<Verdict> => {
  const v = headerValue(m.raw, 'x-test-verdict')?.trim();
  return v === 'block' ? blockVerdict() : v === 'deliver' ? { action: 'deliver', rules: [], findings: [], severity: 0 } : quarantineVerdict();
};
const message = (verdict: 'quarantine' | 'block') => schoolMessage({ extraHeaders: `X-Test-Verdict: ${verdict}` });

const FAIL_SQL: Record<Backend, { install: string; remove: string }> = {
  // The failure hits the second insert of the hold transaction: the incident row written just
  // before it must be rolled back too.
  sqlite: {
    install: "CREATE TRIGGER hm_test_fail BEFORE INSERT ON held_messages BEGIN SELECT RAISE(ABORT, 'disk I/O error (simulated)'); END;",
    remove: 'DROP TRIGGER hm_test_fail;',
  },
  postgres: {
    install: `CREATE FUNCTION hm_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'could not extend file (simulated)'; END $$;
      CREATE TRIGGER hm_test_fail BEFORE INSERT ON held_messages FOR EACH ROW EXECUTE FUNCTION hm_test_fail();`,
    remove: 'DROP TRIGGER hm_test_fail ON held_messages; DROP FUNCTION hm_test_fail();',
  },
};

const PROBE_FAIL_SQL: Record<Backend, { install: string; remove: string }> = {
  sqlite: {
    install: "CREATE TRIGGER hm_test_full BEFORE UPDATE ON health_probe BEGIN SELECT RAISE(ABORT, 'database or disk is full (simulated)'); END; CREATE TRIGGER hm_test_full2 BEFORE INSERT ON health_probe BEGIN SELECT RAISE(ABORT, 'database or disk is full (simulated)'); END;",
    remove: 'DROP TRIGGER hm_test_full; DROP TRIGGER hm_test_full2;',
  },
  postgres: {
    install: `CREATE FUNCTION hm_test_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'could not extend file (simulated)'; END $$;
      CREATE TRIGGER hm_test_full BEFORE INSERT OR UPDATE ON health_probe FOR EACH ROW EXECUTE FUNCTION hm_test_full();`,
    remove: 'DROP TRIGGER hm_test_full ON health_probe; DROP FUNCTION hm_test_full();',
  },
};

describe.each(BACKENDS)('health tells the truth about the store (%s)', (backend: Backend) => {
  let sink: Sink;
  let storage: TestStorage;
  let gw: HoldingGateway;
  let url = '';
  beforeAll(async () => {
    sink = await startSink();
    storage = await createStorage(backend);
    gw = await startHoldingGateway({ storage, sink, inspector, health: '127.0.0.1:0' });
    const a = gw.gateway.health!.address();
    url = `http://${a.host}:${a.port}`;
  });
  afterAll(async () => {
    await gw?.stop();
    await sink?.close();
    await storage?.cleanup();
  });

  it('a store that cannot be written makes /health 503 with the reason, and the metric says 0; it recovers when the store does', async () => {
    const well = await fetch(`${url}/health`);
    expect(well.status).toBe(200);
    const good = (await well.json()) as { ok: boolean; store: { writable: boolean; probeMs: number }; outbox: { waiting: number } };
    expect(good).toMatchObject({ ok: true, store: { writable: true }, outbox: { waiting: 0 } });
    expect(good.store.probeMs).toBeGreaterThanOrEqual(0);
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/^hallmonitor_store_writable 1$/m);

    await storage.sql(PROBE_FAIL_SQL[backend].install);
    await storage.sql(FAIL_SQL[backend].install);
    try {
      // Held mail cannot be stored: the school's server hears 451 …
      expect((await sendRaw(gw.port, TEACHER, [OUTSIDER], message('quarantine'))).code).toBe(451);
      // … and health says so, with the reason, instead of "ok".
      const sick = await fetch(`${url}/health`);
      expect(sick.status).toBe(503);
      const body = (await sick.json()) as { ok: boolean; problems: string[]; store: { writable: boolean; error: string } };
      expect(body.ok).toBe(false);
      expect(body.store.writable).toBe(false);
      expect(body.problems.join('\n')).toMatch(/quarantine store cannot be written: .*simulated/);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/^hallmonitor_store_writable 0$/m);
      expect(metrics).toMatch(/^hallmonitor_store_probe_seconds [0-9.e-]+$/m);
    } finally {
      await storage.sql(PROBE_FAIL_SQL[backend].remove);
      await storage.sql(FAIL_SQL[backend].remove);
    }
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });
});

describe.each(BACKENDS)('store failures (%s)', (backend: Backend) => {
  let sink: Sink;
  let storage: TestStorage;
  let gw: HoldingGateway;
  beforeAll(async () => {
    sink = await startSink();
    storage = await createStorage(backend);
    gw = await startHoldingGateway({ storage, sink, inspector });
  });
  afterAll(async () => {
    await gw?.stop();
    await sink?.close();
    await storage?.cleanup();
  });

  it('a write failure in the middle of the hold answers 451, keeps nothing and sends nothing; the retry is held', async () => {
    await storage.sql(FAIL_SQL[backend].install);
    const raw = message('quarantine');
    const r = await sendRaw(gw.port, TEACHER, [OUTSIDER], raw);
    expect(r.code).toBe(451);
    expect(r.response).toMatch(/4\.3\.0 Temporary problem in the gateway, try again later \(ref [0-9A-Z]+\)/);
    expect(r.response).not.toContain(PUPIL.surname);
    expect(await listIncidents(gw.gateway.store.db)).toHaveLength(0);
    expect(await gw.gateway.store.db.selectFrom('outbox').selectAll().execute()).toHaveLength(0);
    expect(await gw.gateway.store.db.selectFrom('counters').selectAll().execute()).toHaveLength(0); // the reference was rolled back too
    await new Promise((res) => setTimeout(res, 500));
    expect(sink.messages).toHaveLength(0);
    expect(gw.logText()).toContain('"event":"hold-failed"');
    expect(gw.logText()).not.toContain(PUPIL.surname);

    // The upstream retries once the fault is gone: the same bytes are held, exactly once.
    await storage.sql(FAIL_SQL[backend].remove);
    const again = await sendRaw(gw.port, TEACHER, [OUTSIDER], raw);
    expect(again.code).toBe(250);
    const ref = /(HM-\d{4}-\d{6})/.exec(again.response)![1];
    expect(ref).toMatch(/-000001$/);
    expect(Buffer.compare((await heldMessage(gw.gateway.store.db, ref))!.raw!, raw)).toBe(0);
    await sink.waitForMessages(2);
    expect(sink.messages.map((m) => m.rcptTo[0]).sort()).toEqual([SCHOOL.business_manager, TEACHER].sort());
  });
});

describe('PostgreSQL unreachable', () => {
  let sink: Sink;
  let storage: TestStorage;
  let gw: HoldingGateway;
  beforeAll(async () => {
    sink = await startSink();
    storage = await createStorage('postgres');
    gw = await startHoldingGateway({ storage, sink, inspector });
  });
  afterAll(async () => {
    await gw?.stop();
    await sink?.close();
    await storage?.cleanup();
  });

  it('while the database refuses connections the upstream hears 451; when it is back the retry is held', async () => {
    const name = String(storage.store.database_url).split('/').pop()!;
    const admin = async (sql: string) => {
      const pg = (await import('pg')).default;
      const c = new pg.Client({ host: '127.0.0.1', user: 'postgres', database: 'test' });
      await c.connect();
      try {
        await c.query(sql);
      } finally {
        await c.end();
      }
    };
    await admin(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
    await admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}'`);
    try {
      const r = await sendRaw(gw.port, TEACHER, [OUTSIDER], message('quarantine'));
      expect(r.code).toBe(451);
      expect(sink.messages).toHaveLength(0);
    } finally {
      await admin(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
    }
    const again = await sendRaw(gw.port, TEACHER, [OUTSIDER], message('quarantine'));
    expect(again.code).toBe(250);
    await sink.waitForMessages(2);
  });
});

describe.each(BACKENDS)('block_mode: reject (%s)', (backend: Backend) => {
  let sink: Sink;
  let storage: TestStorage;
  let gw: HoldingGateway;
  beforeAll(async () => {
    sink = await startSink();
    storage = await createStorage(backend);
    gw = await startHoldingGateway({
      storage, sink, inspector,
      policy: { block_mode: 'reject', rules: { 'pupil-name-in-subject': { notify: 'immediate' } } },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await sink?.close();
    await storage?.cleanup();
  });

  it('a blocked message is refused with 550 5.7.1 naming the rule and the reference, and still recorded as a near miss', async () => {
    const r = await sendRaw(gw.port, TEACHER, [OUTSIDER], message('block'));
    expect(r.code).toBe(550);
    expect(r.response).toMatch(/5\.7\.1 Not sent: it breaks the school's rule pupil-name-in-subject \(ref HM-\d{4}-\d{6}\)/);
    expect(r.response).not.toContain(PUPIL.surname);
    const ref = /(HM-\d{4}-\d{6})/.exec(r.response)![1];
    const inc = await findIncident(gw.gateway.store.db, ref);
    expect(inc).toMatchObject({ kind: 'near-miss', action: 'block', status: 'open' });
    // The sender's own server returns the 550 to them, so no separate notice; the business
    // manager is told (this school set the rule to immediate).
    const rows = await outboxFor(gw.gateway.store.db, ref);
    expect(rows.map((x) => x.template)).toEqual(['business-manager']);
    await sink.waitForMessages(1);
    await new Promise((res) => setTimeout(res, 500));
    expect(sink.messages.map((m) => m.rcptTo[0])).toEqual([SCHOOL.business_manager]);
    await waitFor('the notice marked sent', async () => (await outboxFor(gw.gateway.store.db, ref))[0].status === 'sent');
  });

  it('a quarantined message is still held and answered 250', async () => {
    const r = await sendRaw(gw.port, TEACHER, [OUTSIDER], message('quarantine'));
    expect(r.code).toBe(250);
    expect(r.response).toContain('held for review as HM-');
  });
});

describe('a lock on the SQLite file held by another process (issue 15, finding 6)', () => {
  let sink: Sink;
  let storage: TestStorage;
  let gw: HoldingGateway;
  beforeAll(async () => {
    sink = await startSink();
    storage = await createStorage('sqlite');
    gw = await startHoldingGateway({ storage: { ...storage, store: { sqlite_busy_seconds: 2 } }, sink, inspector });
  });
  afterAll(async () => {
    await gw?.stop();
    await sink?.close();
    await storage?.cleanup();
  });

  it('never freezes the gateway: new connections are greeted at once, deliverable mail flows, held mail gets 451 within the busy limit, and holds again once the lock is gone', async () => {
    // A real second process takes an exclusive lock on the database file and keeps it for 6 s.
    const locker = spawn(process.execPath, ['-e', `
      const Sqlite = require('better-sqlite3');
      const db = new Sqlite(${JSON.stringify(path.join(storage.dataDir, 'hallmonitor.db'))});
      db.exec('BEGIN EXCLUSIVE');
      process.stdout.write('locked\\n');
      setTimeout(() => { db.exec('ROLLBACK'); db.close(); process.exit(0); }, 6000);
    `], { cwd: path.resolve(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((r) => locker.on('exit', r));
    await new Promise<void>((resolve) => locker.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve()));
    const lockedAt = Date.now();
    try {
      // A hold waits for the lock without blocking the event loop …
      const held = sendRaw(gw.port, TEACHER, [OUTSIDER], message('quarantine'));
      await new Promise((r) => setTimeout(r, 200));
      // … so a new connection is greeted at once, and deliverable mail goes through meanwhile.
      const t0 = Date.now();
      const s = await RawSmtp.connect(gw.port);
      expect((await s.read()).code).toBe(220);
      expect(Date.now() - t0).toBeLessThan(1_000);
      s.close();
      const deliverable = await sendRaw(gw.port, TEACHER, [OUTSIDER], schoolMessage({ extraHeaders: 'X-Test-Verdict: deliver' }));
      expect(deliverable.code).toBe(250);
      expect(Date.now() - t0).toBeLessThan(2_000);
      // The hold gives up after store.sqlite_busy_seconds: 451, the school's server retries.
      const r = await held;
      expect(r.code).toBe(451);
      expect(Date.now() - lockedAt).toBeLessThan(5_000);
    } finally {
      await exited;
    }
    // The lock is gone: the retry is held.
    const again = await sendRaw(gw.port, TEACHER, [OUTSIDER], message('quarantine'));
    expect(again.code).toBe(250);
    expect(again.response).toMatch(/held for review as HM-/);
  }, 30_000);
});
