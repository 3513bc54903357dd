// The `store:` section of the configuration: where the quarantine and incident register live and
// how long things are kept (checked by the configuration schema, src/config/schema.ts).
import path from 'node:path';
import type { Config } from '../config/index.ts';
import { redactUrl } from '../config/net.ts';
import { parseSections } from '../config/schema.ts';

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

export function storeSettings(config: Pick<Config, 'source' | 'dataDir'> & { store?: unknown; nextHop: { timeoutSeconds: number } | null }): StoreSettings {
  const { store: s } = parseSections(config.source, { store: config.store });
  const hopTimeout = config.nextHop?.timeoutSeconds ?? 30;
  return {
    databaseUrl: s.database_url ?? null,
    sqliteFile: s.sqlite_file ? path.resolve(config.dataDir, s.sqlite_file) : path.join(config.dataDir, 'hallmonitor.db'),
    quarantineRetentionDays: s.quarantine_retention_days,
    incidentRetentionYears: s.incident_retention_years,
    outboxRetrySeconds: s.outbox_retry_seconds,
    // The schema checks a given value is longer than next_hop.timeout_seconds.
    outboxLeaseSeconds: s.outbox_lease_seconds ?? Math.max(300, 2 * hopTimeout + 30),
    sqliteBusySeconds: s.sqlite_busy_seconds,
  };
}

export { redactUrl };
