// `config-check` tells the truth (issue 17): it runs what `serve` runs before opening a port, so a
// file it calls valid starts, and a file serve refuses it refuses too, naming the same key.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin/hallmonitor.js');
const ROSTER = path.join(ROOT, 'test/fixtures/check/roster.csv');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'hm-config-check-'));
  writeFileSync(path.join(dir, 'empty.csv'), '');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]) {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('HALLMONITOR_')) delete env[k];
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000, env });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Writes the file (listening on a free port, no health port), runs both commands. */
function both(name: string, yaml: string) {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, `listen: 127.0.0.1:0\nhealth:\n  listen: "off"\ndata_dir: ${path.join(dir, `${name}-data`)}\n${yaml}`);
  return { check: run(['config-check', file]), serve: run(['serve', '--config', file]) };
}

const cases: Array<[string, string, RegExp]> = [
  ['misspelt key', 'school:\n  buisness_manager: bm@school.example\n', /school\.buisness_manager: unknown key \(did you mean school\.business_manager\?\)/],
  ['wrong type', 'store:\n  quarantine_retention_days: thirty\n', /store\.quarantine_retention_days: expected a number, got string "thirty"/],
  ['bad mode', 'policy:\n  mode: monitr\n', /policy\.mode: expected one of enforce, monitor, got string "monitr"/],
  ['bad action', 'policy:\n  rules:\n    pupil-name-in-subject:\n      action: blok\n', /policy\.rules\.pupil-name-in-subject\.action: expected one of deliver, quarantine, block/],
  ['missing roster', 'school:\n  roster: no-such-roster.csv\n', /school\.roster: .*no-such-roster\.csv/],
  ['empty roster', 'school:\n  roster: empty.csv\n', /school\.roster: The roster file is empty/],
  ['bad next hop', 'next_hop: smtp.example.org:25:x\n', /next_hop\.host: expected HOST:PORT/],
  ['bad network', 'relay:\n  allow_networks: [10.0.0.0/33]\n', /relay\.allow_networks\[0\]: .*prefix length/],
  ['bad time zone', 'school:\n  time_zone: Europe/Londn\n', /school\.time_zone: "Europe\/Londn" is not a time zone/],
  ['unreachable database', 'store:\n  database_url: postgres://hm@127.0.0.1:1/hm\n', /store\.database_url: cannot reach/],
];

describe('config-check and serve agree', () => {
  for (const [name, yaml, problem] of cases) {
    it(`${name}: both refuse, naming the key, exit 2`, () => {
      const { check, serve } = both(name.replace(/\s+/g, '-'), yaml);
      expect(check.code, check.out + check.err).toBe(2);
      expect(check.err).toMatch(problem);
      expect(check.out).not.toMatch(/is valid/);
      expect(serve.code, serve.out + serve.err).not.toBe(0);
      expect(serve.code).not.toBeNull(); // it stopped rather than listening
      expect(serve.err).toMatch(problem);
    });
  }

  it('every problem in one pass, from every section', () => {
    const { check } = both('many', `school:\n  buisness_manager: x\n  time_zone: Mars/Base\nstore:\n  quarantine_retention_days: thirty\npolicy:\n  mode: monitr\n`);
    expect(check.code).toBe(2);
    for (const key of ['school.buisness_manager', 'school.time_zone', 'store.quarantine_retention_days', 'policy.mode']) expect(check.err).toContain(`  - ${key}:`);
  });

  it('a good file: valid, with what the gateway would use, and warnings for what would surprise', () => {
    const file = path.join(dir, 'good.yaml');
    writeFileSync(file, `listen: 127.0.0.1:0\ndata_dir: ${path.join(dir, 'good-data')}\nschool:\n  domains: [oakfield.sch.uk]\n  roster: ${ROSTER}\n`);
    const r = run(['config-check', file]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`${file} is valid.`);
    expect(r.out).toMatch(/school: \d+ pupils from .*roster\.csv, policy enforce/);
    expect(r.out).toMatch(/store: SQLite .*good-data/);
    expect(r.out).toContain('warning: school.business_manager is not set');
  });
});
