// The console's migrations: a set of their own, recorded in `console_migration` (not the store's
// `kysely_migration`), run on the same database after the store's. Never edit a migration that
// has shipped: add a new one.
import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import { migrateWithLock } from '../../store/migrations.ts';
import type { Store } from '../../store/index.ts';
import type { ConsoleDb } from './schema.ts';

function consoleMigrations(kind: Store['kind']): Record<string, Migration> {
  return {
    '0001-console-accounts-sessions': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('console_users')
          .addColumn('username', 'text', (c) => c.primaryKey())
          .addColumn('display_name', 'text', (c) => c.notNull())
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('password_hash', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addColumn('password_changed_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('console_sessions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('username', 'text', (c) => c.notNull().references('console_users.username').onDelete('cascade'))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('last_seen_at', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .addColumn('csrf_token', 'text', (c) => c.notNull())
          .addColumn('ip', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('console_sessions_username').on('console_sessions').column('username').execute();
        await db.schema
          .createTable('console_login_attempts')
          .addColumn('id', 'integer', (c) => (kind === 'postgres' ? c.primaryKey().generatedAlwaysAsIdentity() : c.primaryKey().autoIncrement()))
          .addColumn('username', 'text', (c) => c.notNull())
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('ok', 'integer', (c) => c.notNull())
          .addColumn('ip', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('console_login_attempts_username').on('console_login_attempts').columns(['username', 'at']).execute();
        await db.schema
          .createTable('console_instances')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('started_at', 'text', (c) => c.notNull())
          .addColumn('last_seen_at', 'text', (c) => c.notNull())
          .addColumn('detail', 'text', (c) => c.notNull())
          .execute();
      },
    },
    // Accounts belong to one school of a trust, or (null) to the whole trust. Accounts from before
    // see everything, as they did: a single school has nothing else to see.
    '0002-console-account-school': {
      async up(db: Kysely<any>) {
        await db.schema.alterTable('console_users').addColumn('tenant', 'text').execute();
      },
    },
    // An account's email address: the release and reject links in a notice sent to that address
    // work only for the account that has it (src/review/console/routes/links.ts).
    '0003-console-account-email': {
      async up(db: Kysely<any>) {
        await db.schema.alterTable('console_users').addColumn('email', 'text').execute();
      },
    },
  };
}

/** Advisory lock key for the console's migrations on PostgreSQL ("HmCo"). */
const CONSOLE_MIGRATION_LOCK_ID = 0x486d436f;

/** The store's database, with the console's tables migrated and typed. */
export async function consoleDb(store: Store): Promise<ConsoleDb> {
  const db = store.db as unknown as ConsoleDb;
  // The same locking as the store's own migrations (src/store/migrations.ts).
  await migrateWithLock(db, store.kind, CONSOLE_MIGRATION_LOCK_ID,
    { provider: { getMigrations: async () => consoleMigrations(store.kind) }, migrationTableName: 'console_migration', migrationLockTableName: 'console_migration_lock' },
    (failed, error) => new Error(`cannot prepare the console's tables in ${store.location}${failed ? ` (migration ${failed})` : ''}: ${error.message}`, { cause: error }));
  return db;
}
