// Schema migrations, run on every start-up (and by every CLI command) before anything else.
// Kysely's Migrator records what ran in `kysely_migration` and takes a lock (an advisory lock on
// PostgreSQL), so several gateways starting at once against one database migrate exactly once.
// Never edit a migration that has shipped: add a new one.
import { sql, type Kysely } from 'kysely';
import { Migrator, type Migration, type MigrationProvider } from 'kysely/migration';

export type StoreKind = 'sqlite' | 'postgres';

export function migrations(kind: StoreKind): MigrationProvider {
  const bytes = kind === 'postgres' ? 'bytea' : 'blob';
  // An auto-numbered key: SQLite's rowid alias, PostgreSQL's identity column.
  const serial = (db: Kysely<any>, table: string) =>
    db.schema.createTable(table).addColumn('id', 'integer', (c) =>
      kind === 'postgres' ? c.primaryKey().generatedAlwaysAsIdentity() : c.primaryKey().autoIncrement());

  const all: Record<string, Migration> = {
    '0001-quarantine-incidents-outbox': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('incidents')
          .addColumn('reference', 'text', (c) => c.primaryKey())
          .addColumn('message_id', 'text', (c) => c.notNull())
          .addColumn('detected_at', 'text', (c) => c.notNull())
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('sender', 'text', (c) => c.notNull())
          .addColumn('recipients', 'text', (c) => c.notNull())
          .addColumn('rules', 'text', (c) => c.notNull())
          .addColumn('severity', 'integer', (c) => c.notNull())
          .addColumn('findings', 'text', (c) => c.notNull())
          .addColumn('potential_breach', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('breach_marked_at', 'text')
          .addColumn('ico_deadline', 'text')
          .addColumn('escalated_at', 'text')
          .addColumn('held_by', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('incidents_detected_at').on('incidents').column('detected_at').execute();
        await db.schema.createIndex('incidents_status').on('incidents').columns(['status', 'detected_at']).execute();
        await db.schema.createIndex('incidents_message_id').on('incidents').column('message_id').unique().execute();

        await db.schema
          .createTable('held_messages')
          .addColumn('message_id', 'text', (c) => c.primaryKey())
          .addColumn('reference', 'text', (c) => c.notNull().references('incidents.reference'))
          .addColumn('received_at', 'text', (c) => c.notNull())
          .addColumn('envelope', 'text', (c) => c.notNull())
          .addColumn('client', 'text', (c) => c.notNull())
          .addColumn('verdict', 'text', (c) => c.notNull())
          .addColumn('raw', bytes)
          .addColumn('size', 'integer', (c) => c.notNull())
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('purged_at', 'text')
          .execute();
        await db.schema.createIndex('held_messages_received_at').on('held_messages').columns(['purged_at', 'received_at']).execute();
        await db.schema.createIndex('held_messages_reference').on('held_messages').column('reference').execute();

        await serial(db, 'incident_history')
          .addColumn('reference', 'text', (c) => c.notNull().references('incidents.reference'))
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('actor', 'text', (c) => c.notNull())
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('detail', 'text')
          .execute();
        await db.schema.createIndex('incident_history_reference').on('incident_history').columns(['reference', 'id']).execute();

        await db.schema
          .createTable('outbox')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('job', 'text', (c) => c.notNull())
          .addColumn('template', 'text', (c) => c.notNull())
          .addColumn('recipient', 'text', (c) => c.notNull())
          .addColumn('reference', 'text', (c) => c.notNull().references('incidents.reference'))
          .addColumn('mode', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('next_attempt_at', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('claimed_by', 'text')
          .addColumn('claimed_until', 'text')
          .addColumn('last_error', 'text')
          .addColumn('sent_at', 'text')
          .addColumn('message_id_header', 'text', (c) => c.notNull())
          .addColumn('actor', 'text')
          .execute();
        await db.schema.createIndex('outbox_due').on('outbox').columns(['status', 'next_attempt_at']).execute();
        await db.schema.createIndex('outbox_reference').on('outbox').column('reference').execute();

        await serial(db, 'audit_log')
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('actor', 'text', (c) => c.notNull())
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('detail', 'text')
          .execute();

        await db.schema
          .createTable('counters')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('value', 'integer', (c) => c.notNull())
          .execute();
        // History is append-only: the database itself refuses to edit an entry. Entries are only
        // ever deleted together with their incident, by retention after the incident period.
        if (kind === 'sqlite') {
          await sql`CREATE TRIGGER incident_history_no_update BEFORE UPDATE ON incident_history
            BEGIN SELECT RAISE(ABORT, 'incident history is append-only'); END`.execute(db);
        } else {
          await sql`CREATE FUNCTION hallmonitor_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'incident history is append-only'; END $$`.execute(db);
          await sql`CREATE TRIGGER incident_history_no_update BEFORE UPDATE ON incident_history
            FOR EACH ROW EXECUTE FUNCTION hallmonitor_history_append_only()`.execute(db);
        }
      },
    },

    // Many schools, one service: every incident (and every notice about it) belongs to a school,
    // so each business manager sees, and is written to about, only their own school's mail.
    // Rows from before are the single school's ('school', the id src/tenants.ts gives it).
    '0002-tenant': {
      async up(db: Kysely<any>) {
        await db.schema.alterTable('incidents').addColumn('tenant', 'text', (c) => c.notNull().defaultTo('school')).execute();
        await db.schema.createIndex('incidents_tenant').on('incidents').columns(['tenant', 'detected_at']).execute();
        await db.schema.alterTable('outbox').addColumn('tenant', 'text', (c) => c.notNull().defaultTo('school')).execute();
      },
    },
    // Health: each instance writes and reads back one row here (src/store/index.ts probeStore), so
    // /health says whether held mail could be stored right now.
    '0003-health-probe': {
      async up(db: Kysely<any>) {
        await db.schema.createTable('health_probe').ifNotExists()
          .addColumn('instance', 'text', (c) => c.primaryKey())
          .addColumn('at', 'text', (c) => c.notNull())
          .execute();
      },
    },
    // Links in notification emails (src/act/notify/links.ts): the key that signs them, made once
    // and shared by every instance, and the links already used (each works once).
    '0004-email-links': {
      async up(db: Kysely<any>) {
        await db.schema.createTable('link_keys')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('secret', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createTable('link_uses')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('reference', 'text', (c) => c.notNull())
          .addColumn('purpose', 'text', (c) => c.notNull())
          .addColumn('used_at', 'text', (c) => c.notNull())
          .addColumn('used_by', 'text', (c) => c.notNull())
          .execute();
      },
    },
    // Failure notices (bounces) to senders whose message the next hop refused for some
    // recipients after the school's server had heard 250: kept here until sent (src/store/bounces.ts).
    '0005-bounces': {
      async up(db: Kysely<any>) {
        await db.schema.createTable('bounces')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('recipient', 'text', (c) => c.notNull())
          .addColumn('raw', bytes, (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('next_attempt_at', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('claimed_by', 'text')
          .addColumn('claimed_until', 'text')
          .addColumn('last_error', 'text')
          .execute();
        await db.schema.createIndex('bounces_due').on('bounces').columns(['status', 'next_attempt_at']).execute();
      },
    },
  };
  return { getMigrations: async () => all };
}

/**
 * Migrates `db` to its latest schema. On PostgreSQL, gateways starting together against a new
 * database are serialised by one session-level advisory lock around the whole step: Kysely creates
 * its bookkeeping tables before taking its own lock, and two concurrent CREATE TABLE IF NOT EXISTS
 * can collide in PostgreSQL's catalog. Throws `fail(name of the failed migration, error)`.
 */
export async function migrateWithLock(
  db: Kysely<any>,
  kind: StoreKind,
  lockId: number,
  options: { provider: MigrationProvider; migrationTableName?: string; migrationLockTableName?: string },
  fail: (failed: string | undefined, error: Error) => Error,
): Promise<void> {
  const migrate = async () => {
    const { error, results } = await new Migrator({ db, ...options }).migrateToLatest();
    if (error) throw fail(results?.find((r) => r.status === 'Error')?.migrationName, error as Error);
  };
  if (kind !== 'postgres') return migrate();
  await db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${lockId})`.execute(conn);
    try {
      await migrate();
    } finally {
      await sql`select pg_advisory_unlock(${lockId})`.execute(conn);
    }
  });
}
