// A trust-wide roster: one MIS export for several schools, with a school column. Read once, split
// in memory by school; each school's detectors see only its own pupils.
import path from 'node:path';
import type { TenantDirectory } from '../tenants.ts';
import { makeRoster, readRoster, watchRoster } from './index.ts';
import type { Pupil, Roster } from './types.ts';

export interface TrustRosters {
  rosterFor(tenant: string): Roster;
  /** Re-reads the file when it changes; a broken new file keeps the old rosters. */
  watch(onChange: (next: TrustRosters) => void, onError: (err: Error) => void): () => void;
}

/** Undefined when no school uses a trust-wide roster. */
export async function loadTrustRosters(directory: TenantDirectory, baseDir: string): Promise<TrustRosters | undefined> {
  const users = directory.tenants.filter((t) => t.trustRoster);
  if (!users.length) return undefined;
  const file = path.resolve(baseDir, users[0].trustRoster!.path);
  const split = (pupils: Pupil[]): TrustRosters => {
    const by = new Map<string, Pupil[]>();
    for (const t of users) by.set(t.id, []);
    for (const p of pupils) {
      const school = (p.school ?? '').trim().toLowerCase();
      for (const t of users) {
        if (school === t.trustRoster!.school.toLowerCase() || school === t.name.toLowerCase()) by.get(t.id)!.push(p);
      }
    }
    const rosters = new Map([...by].map(([id, list]) => [id, makeRoster(list, `${file} (${id})`)]));
    return {
      rosterFor: (tenant) => rosters.get(tenant) ?? makeRoster([], file),
      watch: (onChange, onError) => watchRoster(file, (r) => onChange(split(r.pupils)), onError),
    };
  };
  const { roster } = await readRoster(file);
  return split(roster.pupils);
}
