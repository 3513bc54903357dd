// What `serve` checks before it opens a socket, run without starting anything: `config-check`.
// Each school's policy, roster and staff list read and checked, notices' addresses and templates,
// the console's settings, the store's settings and whether it can be reached, the certificates.
// Every problem is collected, from every part, so the IT lead fixes them in one pass.
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, configDir, type Config } from './config/index.ts';
import { certificatesInUse, expiryWarnings } from './config/certificates.ts';
import { noticeDirectory, schoolsWithoutBusinessManager } from './act/notify/schools.ts';
import { loadPolicy, type PolicyOverrides } from './decide/policy.ts';
import { consoleSettings } from './review/console/settings.ts';
import { loadTrustRosters } from './roster/trust.ts';
import { redactUrl, storeSettings } from './store/config.ts';
import { loadTenants, TenantDirectory } from './tenants.ts';
import { memoryCeilingWarning } from './workers.ts';

export interface Preflight {
  problems: string[];
  warnings: string[];
  /** One line per school: pupils read, where its roster came from. */
  schools: string[];
  store: string;
}

export async function preflight(config: Config, overrides: PolicyOverrides = {}, opts: { storeTimeoutMs?: number } = {}): Promise<Preflight> {
  const out: Preflight = { problems: [], warnings: [], schools: [], store: '' };
  const attempt = async <T>(what: () => T | Promise<T>): Promise<T | undefined> => {
    try {
      return await what();
    } catch (err) {
      if (err instanceof ConfigError) out.problems.push(...err.problems);
      else out.problems.push((err as Error).message);
      return undefined;
    }
  };

  const specs = await attempt(() => loadTenants(config));
  const directory = specs ? await attempt(() => new TenantDirectory(specs)) : undefined;
  if (directory) {
    const notices = await attempt(() => noticeDirectory(config, directory.tenants));
    if (notices) for (const w of schoolsWithoutBusinessManager(notices, directory.single)) out.warnings.push(w.text);
    const baseDir = configDir(config);
    const trust = await attempt(() => loadTrustRosters(directory, baseDir));
    const { createExaminer } = await import('./examine.ts');
    for (const t of directory.tenants) {
      const policy = await attempt(() => loadPolicy(t.config, directory.single ? overrides : undefined, baseDir));
      if (!policy) continue;
      const examiner = await attempt(() => createExaminer({ policy, roster: t.trustRoster ? trust?.rosterFor(t.id) : undefined }));
      if (!examiner) continue;
      const st = examiner.status();
      out.schools.push(`${directory.single ? 'school' : t.id}: ${st.pupils} pupils${policy.rosterPath ? ` from ${policy.rosterPath}` : t.trustRoster ? ' from the trust roster' : ' (no roster: names are not looked for)'}, policy ${policy.mode}`);
      if (st.rosterError) out.problems.push(`school.roster: ${st.rosterError}`);
      await examiner.close();
    }
  }
  await attempt(() => consoleSettings(config));
  const store = await attempt(() => storeSettings(config));
  if (store) {
    if (store.databaseUrl) {
      const reached = await attempt(() => reachPostgres(store.databaseUrl!, opts.storeTimeoutMs ?? 5000));
      out.store = `PostgreSQL ${redactUrl(store.databaseUrl)}${reached ? ' (reached)' : ''}`;
    } else {
      const dir = path.dirname(store.sqliteFile);
      const problem = writableProblem(dir);
      if (problem) out.problems.push(`data_dir: ${problem}`);
      out.store = `SQLite ${store.sqliteFile}`;
    }
  }
  for (const w of expiryWarnings(certificatesInUse(config))) out.warnings.push(w.text);
  const memory = memoryCeilingWarning(config, config.relay.workers);
  if (memory) out.warnings.push(memory);
  return out;
}

/** Whether the gateway could create and write its data there (the nearest existing parent for a new directory). */
function writableProblem(dir: string): string | undefined {
  let probe = dir;
  while (!existsSync(probe) && path.dirname(probe) !== probe) probe = path.dirname(probe);
  try {
    accessSync(probe, constants.W_OK);
    return undefined;
  } catch {
    return `${dir} cannot be created or written by this user (${probe} is not writable)`;
  }
}

async function reachPostgres(url: string, timeoutMs: number): Promise<boolean> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch (err) {
    throw new Error(`store.database_url: cannot reach ${redactUrl(url)}: ${(err as Error).message}`);
  } finally {
    await client.end().catch(() => {});
  }
}
