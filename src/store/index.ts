// The store: quarantined messages, the incident register and the notification outbox, in one
// database. Embedded SQLite by default (WAL, synchronous=FULL: a commit is on disk before the
// upstream hears 250); PostgreSQL when several gateways share one quarantine. Same schema, same
// queries; migrations run on every open.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { CompiledQuery, Kysely, PostgresDialect, sql, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type SqliteDialectConfig } from 'kysely';
import type { Config } from '../config/index.ts';
import type { Database } from './schema.ts';
import { migrateWithLock, migrations, type StoreKind } from './migrations.ts';
import { redactUrl, storeSettings, type StoreSettings } from './config.ts';

export type { StoreKind, StoreSettings };
export * from './schema.ts';

export interface Store {
  db: Kysely<Database>;
  kind: StoreKind;
  /** Where it is, safe for logs (no password). */
  location: string;
  settings: StoreSettings;
  close(): Promise<void>;
}

export class StoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
  }
}

/**
 * SQLite transactions start with BEGIN IMMEDIATE: the write lock is taken up front, so a CLI
 * command and the gateway writing at the same moment wait for each other instead of one failing
 * with SQLITE_BUSY halfway through a read-then-write transaction.
 *
 * better-sqlite3 is synchronous: its own busy timeout waits by spinning the gateway's only thread,
 * so a lock held by another process (a backup, the CLI, a stuck editor) would freeze every
 * connection. Here the driver's busy timeout is a few milliseconds, and a statement that finds the
 * file locked is tried again after an asynchronous pause, until `busySeconds`: meanwhile the event
 * loop keeps serving, deliverable mail keeps flowing, and a hold that cannot get the lock fails
 * with SQLITE_BUSY (the school's server hears 451 and retries).
 */
class ImmediateSqliteDriver extends SqliteDriver {
  readonly #busyMs: number;
  #inTransaction = false;

  constructor(config: SqliteDialectConfig, busySeconds: number) {
    super(config);
    this.#busyMs = busySeconds * 1000;
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const conn = await super.acquireConnection();
    return {
      // Inside a transaction the write lock is already ours: statements run as they are.
      executeQuery: (q) => (this.#inTransaction ? conn.executeQuery(q) : whenNotBusy(() => conn.executeQuery(q), this.#busyMs)),
      streamQuery: (q, chunkSize) => conn.streamQuery(q, chunkSize),
    } as DatabaseConnection;
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await whenNotBusy(() => connection.executeQuery(CompiledQuery.raw('begin immediate')), this.#busyMs);
    this.#inTransaction = true;
  }

  override async commitTransaction(connection: DatabaseConnection): Promise<void> {
    this.#inTransaction = false;
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    this.#inTransaction = false;
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }
}

/** Runs `fn` until it does not fail with SQLITE_BUSY, pausing (asynchronously) between tries. */
async function whenNotBusy<T>(fn: () => Promise<T>, limitMs: number): Promise<T> {
  const until = Date.now() + limitMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (!code.startsWith('SQLITE_BUSY') && !code.startsWith('SQLITE_LOCKED')) throw err;
      if (Date.now() >= until) throw err;
      await new Promise((r) => setTimeout(r, Math.min(100, 5 * 2 ** attempt)));
    }
  }
}

class HallmonitorSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  readonly #busySeconds: number;
  constructor(config: SqliteDialectConfig, busySeconds: number) {
    super(config);
    this.#config = config;
    this.#busySeconds = busySeconds;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config, this.#busySeconds);
  }
}

/** Advisory lock key for Hallmonitor's migrations ("HmMg"). */
const MIGRATION_LOCK_ID = 0x486d4d67;

// PostgreSQL integers come back as numbers (ids and counters stay far below 2^53).
pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));

export async function openStore(config: Config, opts: { settings?: StoreSettings; poolSize?: number } = {}): Promise<Store> {
  const settings = opts.settings ?? storeSettings(config);
  let db: Kysely<Database>;
  let kind: StoreKind;
  let location: string;
  if (settings.databaseUrl) {
    kind = 'postgres';
    location = redactUrl(settings.databaseUrl);
    const pool = new pg.Pool({ connectionString: settings.databaseUrl, max: Math.max(2, opts.poolSize ?? 5), connectionTimeoutMillis: 10_000 });
    // An idle client that loses its server must not crash the gateway: the next query fails
    // (and the upstream hears 451) while the pool reconnects.
    pool.on('error', () => undefined);
    // The same for a client that is checked out (between the statements of a transaction) when its
    // server goes away: pg emits 'error' on the client itself, which would otherwise be unhandled.
    pool.on('connect', (client) => client.on('error', () => undefined));
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  } else {
    kind = 'sqlite';
    location = path.resolve(settings.sqliteFile);
    const shared = sqliteFiles.get(location);
    if (shared) {
      // One connection per file per process: better-sqlite3 is synchronous, so a second connection
      // waiting for the first one's lock would block the very thread the first one needs.
      shared.refs++;
      return sqliteStore(shared, location, settings);
    }
    try {
      mkdirSync(path.dirname(location), { recursive: true });
      // A few milliseconds of the driver's own (blocking) busy wait; longer waits are asynchronous.
      const file = new BetterSqlite3(location, { timeout: 5 });
      file.pragma('journal_mode = WAL');
      file.pragma('synchronous = FULL');
      file.pragma('foreign_keys = ON');
      db = new Kysely<Database>({ dialect: new HallmonitorSqliteDialect({ database: file }, settings.sqliteBusySeconds) });
    } catch (err) {
      throw new StoreError(`cannot open the quarantine database ${location}: ${(err as Error).message}`, { cause: err });
    }
  }
  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    await db.destroy().catch(() => undefined);
    throw new StoreError(`store.database_url: cannot reach the quarantine database ${location}: ${(err as Error).message}`, { cause: err });
  }
  try {
    await migrateWithLock(db, kind, MIGRATION_LOCK_ID, { provider: migrations(kind) },
      (failed, error) => new StoreError(`cannot prepare the quarantine database ${location}${failed ? ` (migration ${failed})` : ''}: ${error.message}`, { cause: error }));
  } catch (err) {
    await db.destroy().catch(() => undefined);
    if (err instanceof StoreError) throw err;
    throw new StoreError(`store.database_url: cannot reach the quarantine database ${location}: ${(err as Error).message}`, { cause: err });
  }
  if (kind === 'sqlite') {
    const shared = { db, refs: 1 };
    sqliteFiles.set(location, shared);
    return sqliteStore(shared, location, settings);
  }
  let closing: Promise<void> | undefined;
  return {
    db,
    kind,
    location,
    settings,
    close: () => (closing ??= db.destroy()),
  };
}

const sqliteFiles = new Map<string, { db: Kysely<Database>; refs: number }>();

function sqliteStore(shared: { db: Kysely<Database>; refs: number }, location: string, settings: StoreSettings): Store {
  let closed = false;
  return {
    db: shared.db,
    kind: 'sqlite',
    location,
    settings,
    async close() {
      if (closed) return;
      closed = true;
      if (--shared.refs === 0) {
        sqliteFiles.delete(location);
        await shared.db.destroy();
      }
    },
  };
}

export interface StoreProbe {
  ok: boolean;
  /** Time for the write and the read back. */
  ms: number;
  /** Why it failed (the database's own words, no message content). */
  error?: string;
}

/**
 * Can held mail be stored right now? Writes this instance's row in health_probe and reads it back:
 * a full disk, a read-only file, a lost PostgreSQL or a lock held past the busy timeout fail here
 * as they would fail a hold.
 */
export async function probeStore(store: Store, instance: string): Promise<StoreProbe> {
  const started = performance.now();
  const at = new Date().toISOString();
  try {
    await store.db.insertInto('health_probe').values({ instance, at }).onConflict((oc) => oc.column('instance').doUpdateSet({ at })).execute();
    const row = await store.db.selectFrom('health_probe').select('at').where('instance', '=', instance).executeTakeFirst();
    if (row?.at !== at) throw new Error('the probe row did not read back');
    return { ok: true, ms: Math.round((performance.now() - started) * 10) / 10 };
  } catch (err) {
    return { ok: false, ms: Math.round((performance.now() - started) * 10) / 10, error: (err as Error).message.split('\n')[0].slice(0, 200) };
  }
}
