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
  ['unknown top-level key', 'polcy:\n  mode: monitor\n', /^  - polcy: unknown key \(did you mean policy\?\)/m],
  ['unknown rule', 'policy:\n  rules:\n    pupil-name-in-subjct:\n      action: block\n', /policy\.rules\.pupil-name-in-subjct: unknown key \(did you mean policy\.rules\.pupil-name-in-subject\?\)/],
  ['missing certificate file', 'relay:\n  tls:\n    cert: no-such-cert.pem\n    key: no-such-key.pem\n', /relay\.tls\.cert: cannot read .*no-such-cert\.pem \(ENOENT\)/],
  ['bad email address', 'school:\n  business_manager: bursar\n', /school\.business_manager: "bursar" is not an email address/],
  ['bad tenant', 'tenants:\n  - id: Oakfield\n    domains: [oakfield.sch.uk]\n    school: { roster: r.csv, colour: red }\n', /tenants\[0\]\.id: "Oakfield" must be lower-case letters, digits and hyphens/],
];

// One file with a wrong value of every kind of key: each is named with its key path and what was expected.
const KINDS = [
  'hostname: [a, b]',
  'next_hop:\n  host: smtp.example.org\n  port: 99999\n  secure: "yes"\n  starttls: sometimes',
  'relay:\n  max_clients: many\n  users: { name: x }',
  'school:\n  domains: school.example.org\n  safeguarding_min_severity: 9',
  'store: 30',
  'log:\n  level: loud',
  'console:\n  lockout:\n    failure: 3',
].join('\n') + '\n';
const KIND_PROBLEMS = [
  'hostname: expected text, got a list',
  'next_hop.port: 99999 is out of range (1 to 65535)',
  'next_hop.secure: expected true or false, got string "yes"',
  'next_hop.starttls: expected one of required, opportunistic, off, got string "sometimes"',
  'relay.max_clients: expected a number, got string "many"',
  'relay.users: expected a list (lines starting with "- "), got a mapping',
  'school.domains: expected a list (lines starting with "- "), got string "school.example.org"',
  'school.safeguarding_min_severity: 9 is out of range (1 to 5)',
  'store: expected a mapping (key: value lines), got number 30',
  'log.level: expected one of fatal, error, warn, info, debug, trace, silent, got string "loud"',
  'console.lockout.failure: unknown key (did you mean console.lockout.failures?)',
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

  it('a wrong value of each kind: every one named with its key path and what was expected, by both', () => {
    const { check, serve } = both('kinds', KINDS);
    expect(check.code).toBe(2);
    expect(serve.code).not.toBe(0);
    expect(serve.code).not.toBeNull();
    for (const problem of KIND_PROBLEMS) {
      expect(check.err).toContain(`  - ${problem}`);
      expect(serve.err).toContain(`  - ${problem}`);
    }
  });

  it('every problem in one pass, from every section', () => {
    const { check } = both('many', `school:\n  buisness_manager: x\n  time_zone: Mars/Base\nstore:\n  quarantine_retention_days: thirty\npolicy:\n  mode: monitr\n  rules:\n    pupil-name-in-subject:\n      action: blok\nrelay:\n  allow_networks: [10.0.0.0/33]\n  tls: { cert: gone.pem, key: gone.key }\nconsole:\n  listen: 0.0.0.0:8443\n`);
    expect(check.code).toBe(2);
    for (const key of ['school.buisness_manager', 'school.time_zone', 'store.quarantine_retention_days', 'policy.mode', 'policy.rules.pupil-name-in-subject.action', 'relay.allow_networks[0]', 'relay.tls.cert', 'relay.tls.key', 'console.tls']) expect(check.err).toContain(`  - ${key}:`);
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

  it('warns when several relay workers could each examine a large message at once beyond limits.memory_mb, with the figure to plan for', () => {
    const write = (name: string, limits: string) => {
      const file = path.join(dir, `${name}.yaml`);
      writeFileSync(file, `listen: 127.0.0.1:0\ndata_dir: ${path.join(dir, `${name}-data`)}\nschool:\n  domains: [oakfield.sch.uk]\n  roster: ${ROSTER}\n  business_manager: bm@oakfield.sch.uk\nrelay:\n  workers: 4\n${limits}`);
      return run(['config-check', file]);
    };
    // 4 workers, 50 MB messages (about 200 MB each to examine), 512 MB in all: 800 MB at worst.
    const tight = write('tight', 'limits:\n  memory_mb: 512\n');
    expect(tight.code, tight.err).toBe(0);
    expect(tight.out).toContain('warning: with 4 relay workers, each may examine one message of up to relay.max_message_bytes (50 MB, about 200 MB to examine) on its own, beyond its share of limits.memory_mb (128 of 512 MB): at worst about 800 MB at once');
    // Enough for every worker's largest message: no warning.
    const roomy = write('roomy', 'limits:\n  memory_mb: 800\n');
    expect(roomy.code, roomy.err).toBe(0);
    expect(roomy.out).not.toContain('relay workers, each may examine');
  });
});
