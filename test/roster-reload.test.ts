// Reload without restart: a changed roster file is read, a new detector set compiled and
// swapped in whole; a broken file keeps the old set running and says why.
import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, writeFileSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRoster, watchRoster, RosterError, type Roster } from '../src/roster/index.ts';
import { compileDetectors, type DetectorSet } from '../src/detect/index.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Write the way an MIS export job does: a new file renamed over the old one. */
function publish(path: string, content: string) {
  writeFileSync(path + '.tmp', content);
  renameSync(path + '.tmp', path);
}

function waitFor<T>(get: () => T | undefined, ms = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      const v = get();
      if (v !== undefined) return resolve(v);
      if (Date.now() - started > ms) return reject(new Error('timed out waiting'));
      setTimeout(tick, 20);
    };
    tick();
  });
}

const strongNames = (set: DetectorSet, text: string) =>
  set.scan(text, 'body').filter((d) => d.detector === 'pupil-name' && d.strength === 'strong').length;

describe('roster reload', () => {
  it('swaps in a new set for a good file and keeps the old one for a broken file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hm-reload-'));
    dirs.push(dir);
    const path = join(dir, 'roster.csv');
    publish(path, 'Legal Surname,Legal Forename\nOkafor,Zoë\n');
    let live = compileDetectors({ roster: (await loadRoster(path)).roster });
    const firstVersion = live.version;
    let errors: Error[] = [];
    let changes = 0;
    const stop = watchRoster(
      path,
      (next: Roster) => {
        live = compileDetectors({ roster: next }); // compile first, then swap the reference
        changes++;
      },
      (e) => errors.push(e),
      { debounceMs: 30, pollMs: 100 },
    );
    try {
      expect(strongNames(live, 'Zoe Okafor')).toBe(1);

      // A broken export: no name columns. The old set stays, and we are told why.
      publish(path, 'Adno,Gender\n1,F\n');
      const err = await waitFor(() => errors[0]);
      expect(err).toBeInstanceOf(RosterError);
      expect(err.message).toMatch(/Missing: a forename column/);
      expect(changes).toBe(0);
      expect(live.version).toBe(firstVersion);
      expect(strongNames(live, 'Zoe Okafor')).toBe(1);

      // An export with a header but no pupils is refused too.
      errors = [];
      publish(path, 'Legal Surname,Legal Forename\n');
      expect((await waitFor(() => errors[0])).message).toMatch(/no pupils/);
      expect(strongNames(live, 'Zoe Okafor')).toBe(1);

      // A good export with a new pupil: swapped in.
      publish(path, 'Legal Surname,Legal Forename\nOkafor,Zoë\nHill,Jack\n');
      await waitFor(() => (changes > 0 ? true : undefined));
      expect(live.version).not.toBe(firstVersion);
      expect(strongNames(live, 'Jack Hill and Zoe Okafor')).toBe(2);

      // The file disappearing is reported and changes nothing.
      errors = [];
      const before = live.version;
      unlinkSync(path);
      expect((await waitFor(() => errors[0])).message).toMatch(/has gone/);
      expect(live.version).toBe(before);
    } finally {
      stop();
    }
  });

  it('stops watching when told', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hm-reload-'));
    dirs.push(dir);
    const path = join(dir, 'roster.csv');
    publish(path, 'Surname,Forename\nOkafor,Zoë\n');
    let changes = 0;
    const stop = watchRoster(path, () => changes++, () => changes++, { debounceMs: 20, pollMs: 50 });
    await new Promise((r) => setTimeout(r, 100));
    stop();
    publish(path, 'Surname,Forename\nHill,Jack\n');
    await new Promise((r) => setTimeout(r, 300));
    expect(changes).toBe(0);
  });
});
