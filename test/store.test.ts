// The store on both back ends: migrations on start-up (repeatable, concurrent), SQLite durability
// settings, one transaction per hold, references unique across gateways, append-only history,
// one winner when two people act at once, retention with audit entries, configuration errors.
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Sqlite from 'better-sqlite3';
import { sql } from 'kysely';
import { ConfigError, validateConfig } from '../src/config/index.ts';
import { openStore, StoreError, type Store } from '../src/store/index.ts';
import { storeSettings } from '../src/store/config.ts';
import { findIncident, heldMessage, incidentHistory, listIncidents } from '../src/store/incidents.ts';
import { applyRetention, auditLog } from '../src/store/retention.ts';
import { claimDue, markSent, outboxFor } from '../src/store/outbox.ts';
import { holdMessage, type HoldContext } from '../src/act/hold.ts';
import { IncidentActionError, rejectIncident, releaseIncident, updateIncident } from '../src/review/actions.ts';
import { notifySettings } from '../src/act/notify/settings.ts';
import type { ReceivedMessage } from '../src/types.ts';
import { BACKENDS, cli, createStorage, OUTSIDER, quarantineVerdict, blockVerdict, schoolMessage, SCHOOL, TEACHER, testConfig, type Backend, type TestStorage } from './quarantine-helpers.ts';

const sink = { host: '127.0.0.1', port: 25 };

function received(at = new Date()): ReceivedMessage {
  return {
    id: `T${randomBytes(6).toString('hex').toUpperCase()}`,
    envelope: { mailFrom: TEACHER, mailFromParams: {}, rcptTo: [{ address: OUTSIDER }] },
    raw: schoolMessage(),
    receivedAt: at,
    client: { address: '127.0.0.1', hostname: 'exchange.oakfield.sch.uk', helo: 'exchange.oakfield.sch.uk', tls: false },
  };
}

describe.each(BACKENDS)('store (%s)', (backend: Backend) => {
  let storage: TestStorage;
  let store: Store;
  let ctx: HoldContext;
  beforeAll(async () => {
    storage = await createStorage(backend);
    const config = testConfig({ storage, sink });
    store = await openStore(config);
    ctx = { store, notify: notifySettings(config), hostname: 'gw-a' };
  });
  afterAll(async () => {
    await store?.close();
    await storage?.cleanup();
  });

  it('migrations run on every open, and several gateways opening at once migrate exactly once', async () => {
    const config = testConfig({ storage, sink });
    const more = await Promise.all([openStore(config), openStore(config), openStore(config)]);
    for (const s of more) await s.close();
    const ran = await store.db.selectFrom('kysely_migration' as never).selectAll().execute() as Array<{ name: string }>;
    expect(ran.map((r) => r.name).sort()).toEqual(['0001-quarantine-incidents-outbox', '0002-tenant', '0003-health-probe', '0004-email-links', '0005-bounces']);
  });

  if (backend === 'sqlite') {
    it('SQLite runs in WAL mode with synchronous=FULL, so a commit is on disk before the 250', async () => {
      const db = new Sqlite(path.join(storage.dataDir, 'hallmonitor.db'));
      try {
        expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      } finally {
        db.close();
      }
      // synchronous is per connection: ask the store's own (2 = FULL).
      const r = await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(store.db);
      expect(r.rows[0].synchronous).toBe(2);
    });
  }

  it('a hold writes message, incident, history and notices together; references are unique and in order across two gateways', async () => {
    const config = testConfig({ storage, sink });
    const other = await openStore(config);
    try {
      const ctxB: HoldContext = { ...ctx, store: other, hostname: 'gw-b' };
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => holdMessage(i % 2 ? ctx : ctxB, received(), i % 3 ? quarantineVerdict() : blockVerdict())));
      const refs = results.map((r) => r.reference);
      expect(new Set(refs).size).toBe(30);
      const year = new Date().getUTCFullYear();
      expect(refs.map((r) => Number(r.slice(-6))).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      for (const r of refs) expect(r).toMatch(new RegExp(`^HM-${year}-\\d{6}$`));
      const inc = await findIncident(store.db, refs[0]);
      expect(inc?.heldBy).toMatch(/^gw-[ab]$/);
      expect(await heldMessage(store.db, refs[0])).toMatchObject({ size: schoolMessage().length });
      expect((await incidentHistory(store.db, refs[0]))[0]).toMatchObject({ actor: 'hallmonitor' });
      const outbox = await store.db.selectFrom('outbox').select(['reference']).execute();
      expect(new Set(outbox.map((o) => o.reference))).toEqual(new Set(refs));
    } finally {
      await other.close();
    }
  });

  it('history is append-only: the database refuses to edit an entry', async () => {
    const [inc] = await listIncidents(store.db, { limit: 1 });
    await expect(store.db.updateTable('incident_history').set({ actor: 'someone else' }).where('reference', '=', inc.reference).execute()).rejects.toThrow(/append-only/);
  });

  it('when two people release and reject the same message at once, exactly one wins and the other is told', async () => {
    const { reference } = await holdMessage(ctx, received(), quarantineVerdict());
    const other = await openStore(testConfig({ storage, sink }));
    try {
      const ctxB = { ...ctx, store: other };
      const outcomes = await Promise.allSettled([
        releaseIncident(ctx, reference, 'Sarah Jones', 'looks fine'),
        rejectIncident(ctxB, reference, 'Tom Price', 'not encrypted'),
      ]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const lost = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
      expect(lost.reason).toBeInstanceOf(IncidentActionError);
      expect(String(lost.reason.message)).toMatch(/is (released|rejected), not open/);
      const actions = (await incidentHistory(store.db, reference)).map((h) => h.action);
      expect(actions.filter((a) => a === 'released' || a === 'rejected')).toHaveLength(1);
    } finally {
      await other.close();
    }
  });

  it('a potential breach carries the 72-hour ICO deadline from detection; a released message can be escalated', async () => {
    const detected = new Date('2026-11-24T16:02:00Z');
    const c = { ...ctx, now: () => detected };
    const { reference } = await holdMessage(c, received(detected), quarantineVerdict());
    const marked = await updateIncident({ ...ctx, now: () => new Date('2026-11-25T09:00:00Z') }, reference, 'Sarah Jones', 'parent may have seen it', { potentialBreach: true });
    expect(marked.potentialBreach).toBe(true);
    expect(marked.icoDeadline?.toISOString()).toBe('2026-11-27T16:02:00.000Z');
    await expect(updateIncident(ctx, reference, 'Sarah Jones', '', { escalate: true })).rejects.toThrow(/only a released message/);

    const second = await holdMessage(c, received(detected), quarantineVerdict());
    await releaseIncident(ctx, second.reference, 'Sarah Jones', 'agreed');
    const escalatedAt = new Date('2026-11-30T10:00:00Z');
    const esc = await updateIncident({ ...ctx, now: () => escalatedAt }, second.reference, 'Sarah Jones', 'sent to the wrong parent', { escalate: true });
    expect(esc).toMatchObject({ status: 'released', potentialBreach: true });
    expect(esc.escalatedAt?.toISOString()).toBe(escalatedAt.toISOString());
    expect(esc.icoDeadline?.toISOString()).toBe('2026-12-03T10:00:00.000Z');
    const rows = await store.db.selectFrom('outbox').select(['template', 'recipient']).where('reference', '=', second.reference).execute();
    expect(rows).toContainEqual({ template: 'business-manager-escalated', recipient: SCHOOL.business_manager });
    const closed = await updateIncident(ctx, second.reference, 'Sarah Jones', 'reported, ref ICO-123', { status: 'reported-to-ico' });
    expect(closed.status).toBe('reported-to-ico');
    expect((await incidentHistory(store.db, second.reference)).map((h) => h.action)).toEqual(['held', 'released', 'escalated', 'status-reported-to-ico']);
  });

  it('retention purges held messages after 30 days and incidents after 6 years, each with an audit entry', async () => {
    const t0 = new Date('2020-01-10T12:00:00Z');
    const old = await holdMessage({ ...ctx, now: () => t0 }, received(t0), quarantineVerdict());
    const recent = new Date(Date.now() - 29 * 86_400_000);
    const young = await holdMessage({ ...ctx, now: () => recent }, received(recent), quarantineVerdict());

    const r1 = await applyRetention(store, new Date('2020-02-10T12:00:00Z'));
    expect(r1).toEqual({ messagesPurged: 1, incidentsDeleted: 0 });
    const purged = await heldMessage(store.db, old.reference);
    expect(purged?.raw).toBeNull();
    expect(purged?.purgedAt).not.toBeNull();
    expect((await incidentHistory(store.db, old.reference)).at(-1)).toMatchObject({ action: 'message-purged', actor: 'hallmonitor (retention)' });
    await expect(releaseIncident(ctx, old.reference, 'Sarah Jones', 'late')).rejects.toThrow(/held message was deleted/);
    expect((await heldMessage(store.db, young.reference))?.raw).not.toBeNull();

    const r2 = await applyRetention(store, new Date('2026-01-11T12:00:00Z'));
    expect(r2.incidentsDeleted).toBe(1);
    expect(await findIncident(store.db, old.reference)).toBeUndefined();
    expect(await incidentHistory(store.db, old.reference)).toEqual([]);
    const audit = await auditLog(store);
    expect(audit.map((a) => a.action)).toEqual(['incidents-deleted', 'messages-purged']);
    expect(audit[0].detail).toContain(old.reference);
    expect(audit[0].detail).toContain('6-year');
    // Running it again finds nothing more to do.
    expect(await applyRetention(store, new Date('2026-01-11T12:00:00Z'))).toEqual({ messagesPurged: 0, incidentsDeleted: 0 });
  });

  it('retention keeps a released message until its delivery is done: released on day 29, the next hop deferring it on day 31', async () => {
    const t0 = new Date('2020-03-01T12:00:00Z');
    const held = await holdMessage({ ...ctx, now: () => t0 }, received(t0), quarantineVerdict());
    await releaseIncident({ ...ctx, now: () => new Date('2020-03-30T12:00:00Z') }, held.reference, 'Sarah Jones', 'fine to send');
    const release = (await outboxFor(store.db, held.reference)).find((r) => r.job === 'release')!;
    expect(release.status).toBe('pending');
    // Day 31: the release has not gone yet (the next hop deferred it), so the message stays.
    expect((await applyRetention(store, new Date('2020-04-01T12:00:00Z'))).messagesPurged).toBe(0);
    expect((await heldMessage(store.db, held.reference))?.raw).not.toBeNull();
    // Delivered: the next run deletes it, as any other past its time.
    const claimed = await claimDue(store.db, store.kind, 'test', new Date('2020-04-01T13:00:00Z'), 60_000, 10, { id: release.id });
    expect(claimed.map((r) => r.id)).toEqual([release.id]);
    expect(await markSent(store.db, [release.id], 'test', new Date('2020-04-01T13:00:00Z'))).toBe(1);
    expect((await applyRetention(store, new Date('2020-04-02T12:00:00Z'))).messagesPurged).toBe(1);
    expect((await heldMessage(store.db, held.reference))?.raw).toBeNull();
  });
});

describe('store configuration', () => {
  const doc = (store: Record<string, unknown>) => validateConfig({ data_dir: '/tmp/hm-store-config', store }, '(test)', {}, {}, '/tmp');

  it('defaults: SQLite in the data directory, 30 days, 6 years', () => {
    expect(storeSettings(doc({}))).toEqual({ databaseUrl: null, sqliteFile: '/tmp/hm-store-config/hallmonitor.db', quarantineRetentionDays: 30, incidentRetentionYears: 6, outboxRetrySeconds: 60, outboxLeaseSeconds: 300, sqliteBusySeconds: 10 });
  });

  it('HALLMONITOR_DATABASE_URL overrides store.database_url', () => {
    const c = validateConfig({ store: { database_url: 'postgres://a@b/c' } }, '(test)', {}, { HALLMONITOR_DATABASE_URL: 'postgres://x@y/z' }, '/tmp');
    expect(storeSettings(c).databaseUrl).toBe('postgres://x@y/z');
  });

  it('bad values refuse start-up with the key named, never showing a password', () => {
    let err: unknown;
    try {
      storeSettings(doc({ database_url: 'mysql://admin:hunter2@db/x', quarantine_retention_days: 0, incident_retention_years: 'six', retention: 3, outbox_lease_seconds: 20 }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    expect(problems).toContain('store.database_url: expected a postgres://');
    expect(problems).toContain('store.quarantine_retention_days: 0 is out of range');
    expect(problems).toContain('store.incident_retention_years: expected a number');
    expect(problems).toContain('store.retention: unknown key');
    expect(problems).toContain('store.outbox_lease_seconds: 20 must be longer than next_hop.timeout_seconds (30)');
    expect(problems).not.toContain('hunter2');
  });

  it('an unreachable database stops start-up with a clear error and no password', async () => {
    const c = validateConfig({ store: { database_url: 'postgres://hm:s3cret-pw@127.0.0.1:1/hallmonitor' } }, '(test)', {}, {}, '/tmp');
    const err = await openStore(c).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).toContain('cannot reach the quarantine database postgres://hm:****@127.0.0.1:1/hallmonitor');
    expect((err as Error).message).not.toContain('s3cret');
  });

  it('the CLI exits 2 on a bad store section and names the key', async () => {
    const storage = await createStorage('sqlite');
    try {
      const file = path.join(storage.dataDir, 'bad.yaml');
      writeFileSync(file, `data_dir: ${storage.dataDir}\nstore:\n  quarantine_retention_days: -1\n`);
      const r = await cli(['quarantine', 'list', '--config', file]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('store.quarantine_retention_days: -1 is out of range');
    } finally {
      await storage.cleanup();
    }
  });
});
