// The `store:` section of the configuration: where the quarantine and incident register live and
// how long things are kept. Validated here (the core config passes the section through raw);
// a bad value refuses start-up with a ConfigError naming the key.
import path from 'node:path';
import { Problems, type Config } from '../config/index.ts';

export interface StoreSettings {
  /** PostgreSQL connection URL, or null for the embedded SQLite file. */
  databaseUrl: string | null;
  /** The SQLite file (used when databaseUrl is null). */
  sqliteFile: string;
  /** Held messages' raw bytes are purged this many days after they were received. */
  quarantineRetentionDays: number;
  /** Incidents (and their history) are deleted this many years after detection. */
  incidentRetentionYears: number;
  /** First delay before a notice or release the next hop deferred is tried again; doubles each time, up to an hour. */
  outboxRetrySeconds: number;
  /** How long a gateway's claim on a notice lasts; if it dies mid-send another gateway takes over after this. */
  outboxLeaseSeconds: number;
  /**
   * SQLite: how long a write waits for another process's lock (retried without blocking the
   * gateway) before it fails; a held message then gets 451 and is retried by the school's server.
   */
  sqliteBusySeconds: number;
}

const KEYS = ['database_url', 'sqlite_file', 'quarantine_retention_days', 'incident_retention_years', 'outbox_retry_seconds', 'outbox_lease_seconds', 'sqlite_busy_seconds'];

export function storeSettings(config: Config): StoreSettings {
  const p = new Problems();
  const s = config.store;
  p.unknownKeys(s, KEYS, 'store.');
  let databaseUrl = p.string(s.database_url, 'store.database_url', { optional: true }) ?? null;
  if (databaseUrl !== null && !/^postgres(ql)?:\/\//i.test(databaseUrl)) {
    p.add(`store.database_url: expected a postgres://user@host:port/database URL (or leave it out for the embedded SQLite file), got ${JSON.stringify(redactUrl(databaseUrl))}`);
    databaseUrl = null;
  }
  const hopTimeout = config.nextHop?.timeoutSeconds ?? 30;
  const sqliteText = p.string(s.sqlite_file, 'store.sqlite_file', { optional: true });
  const settings: StoreSettings = {
    databaseUrl,
    sqliteFile: sqliteText ? path.resolve(config.dataDir, sqliteText) : path.join(config.dataDir, 'hallmonitor.db'),
    quarantineRetentionDays: p.number(s.quarantine_retention_days ?? 30, 'store.quarantine_retention_days', { min: 1, max: 3650 }),
    incidentRetentionYears: p.number(s.incident_retention_years ?? 6, 'store.incident_retention_years', { min: 1, max: 100 }),
    outboxRetrySeconds: p.number(s.outbox_retry_seconds ?? 60, 'store.outbox_retry_seconds', { min: 1, max: 3600 }),
    outboxLeaseSeconds: p.number(s.outbox_lease_seconds ?? Math.max(300, 2 * hopTimeout + 30), 'store.outbox_lease_seconds', { min: 5, max: 86_400 }),
    sqliteBusySeconds: p.number(s.sqlite_busy_seconds ?? 10, 'store.sqlite_busy_seconds', { min: 0, max: 600 }),
  };
  // A claim must outlast one delivery attempt, or a slow next hop would get the notice twice.
  if (settings.outboxLeaseSeconds <= hopTimeout) {
    p.add(`store.outbox_lease_seconds: ${settings.outboxLeaseSeconds} must be longer than next_hop.timeout_seconds (${hopTimeout})`);
  }
  p.throwIfAny(config.source);
  return settings;
}

/** A database URL fit for logs and error messages: the password is never shown. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '****';
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':****@');
  }
}
