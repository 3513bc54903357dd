// The configuration schema (src/config/schema.ts) on its own: what each problem says, where the
// value came from, and what one school of a trust inherits. config-check.test.ts drives the same
// checks through the command line.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, validateConfig, type Config } from '../src/config/index.ts';
import { loadTenants } from '../src/tenants.ts';

function problems(doc: unknown, overrides = {}, env: Record<string, string> = {}): string[] {
  try {
    validateConfig(doc, '(test)', overrides, env, '/tmp');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('the configuration schema', () => {
  it('names the key path of a problem inside an alternative (a certificate given as files)', () => {
    expect(problems({ next_hop: { host: 'smtp.example.org', client_certificate: { cert: 'a.pem', kee: 'b.pem' } } })).toEqual(expect.arrayContaining([
      'next_hop.client_certificate.key: missing',
      expect.stringMatching(/^next_hop\.client_certificate\.kee: unknown key \(did you mean next_hop\.client_certificate\.key\?\) \(known keys here: cert, key\)$/),
    ]));
    expect(problems({ next_hop: { host: 'smtp.example.org', client_certificate: 7 } })).toEqual(['next_hop.client_certificate: expected "relay" or cert and key files, got number 7']);
  });

  it('names a secret that is wrong, never its value', () => {
    const said = problems({ relay: { checked_header_secret: 12345678901234567890, users: [{ username: 'exchange', password: 31415926535 }] } });
    expect(said).toEqual(expect.arrayContaining([
      'relay.checked_header_secret: expected text, got a number (not shown: a secret)',
      'relay.users[0].password: must be at least 12 characters',
    ]));
    expect(said.join('\n')).not.toMatch(/1234567890|31415926535/);
  });

  it('names a list item by its index, and a rule setting by the rule', () => {
    expect(problems({ relay: { users: [{ username: 'exchange', pasword: 'x' }] }, policy: { rules: { 'recipients-exposed': { min_recipients: 'five' } } } })).toEqual(expect.arrayContaining([
      'relay.users[0].password: missing',
      expect.stringMatching(/^relay\.users\[0\]\.pasword: unknown key \(did you mean relay\.users\[0\]\.password\?\)/),
      'policy.rules.recipients-exposed.min_recipients: expected a number, got string "five"',
    ]));
  });

  it('a former rule id is read as its new one, and giving both is a problem', () => {
    const config = validateConfig({ policy: { rules: { 'uk-identifier-in-message': { min_identifiers: 3 } } } }, '(test)', {}, {}, '/tmp');
    expect(config.policy.rules['identifier-in-message']).toEqual({ min_identifiers: 3 });
    expect(problems({ policy: { rules: { 'uk-identifier-in-message': {}, 'identifier-in-message': {} } } })).toEqual(['policy.rules.uk-identifier-in-message: is the former name of identifier-in-message, which is also given; keep one']);
  });

  it('a value from a flag or an environment variable is named by it', () => {
    expect(problems({}, { listen: 'nonsense' })[0]).toMatch(/^--listen: expected HOST:PORT/);
    expect(problems({}, { nextHop: 'smtp.example.org' })[0]).toMatch(/^--next-hop: expected HOST:PORT/);
    expect(problems({}, { health: 'nope' })[0]).toMatch(/^--health: expected HOST:PORT/);
    expect(problems({}, { businessManager: 'bursar' })).toEqual(['--business-manager: "bursar" is not an email address']);
    expect(problems({}, { console: '0.0.0.0' })[0]).toMatch(/^--console: expected HOST:PORT/);
    expect(validateConfig({ school: { business_manager: 'a@school.example' } }, '(test)', { businessManager: 'b@school.example' }, {}, '/tmp').school.business_manager).toBe('b@school.example');
    expect(problems({}, {}, { HALLMONITOR_LISTEN: 'nonsense' })[0]).toMatch(/^listen \(from HALLMONITOR_LISTEN\): expected HOST:PORT/);
    expect(problems({}, {}, { HALLMONITOR_DATABASE_URL: 'mysql://root:hunter2@db/x' })).toEqual(['store.database_url (from HALLMONITOR_DATABASE_URL): expected a postgres://user@host:port/database URL (or leave it out for the embedded SQLite file), got "mysql://root:****@db/x"']);
    // The flag wins over the variable, which wins over the file.
    const config = validateConfig({ listen: '127.0.0.1:1' }, '(test)', { listen: '127.0.0.1:3' }, { HALLMONITOR_LISTEN: '127.0.0.1:2' }, '/tmp');
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 3 });
    expect(validateConfig({ listen: '127.0.0.1:1' }, '(test)', {}, { HALLMONITOR_LISTEN: '127.0.0.1:2' }, '/tmp').listen.port).toBe(2);
  });

  it('an empty value is a key left out, except health.listen, which turns the endpoint off', () => {
    const config = validateConfig({ school: null, next_hop: null, health: { listen: null }, store: { quarantine_retention_days: null } }, '(test)', {}, {}, '/tmp');
    expect(config.nextHop).toBeNull();
    expect(config.health.listen).toBeNull();
    expect(config.store.quarantine_retention_days).toBe(30);
    expect(config.school.time_zone).toBe('Europe/London');
  });

  it("a school of a trust inherits the trust's settings, not the schema's defaults", () => {
    const config: Config = validateConfig({
      school: { time_zone: 'Europe/Dublin', safeguarding_min_severity: 4, digest_time: '08:15' },
      policy: { mode: 'monitor', rules: { 'pupil-name-in-subject': { action: 'quarantine', severity: 3 } } },
      tenants: [
        { id: 'a', domains: ['a.sch.uk'], school: { roster: 'a.csv' } },
        { id: 'b', domains: ['b.sch.uk'], school: { roster: 'b.csv', digest_time: '06:00' }, policy: { rules: { 'pupil-name-in-subject': { severity: 5 } } } },
      ],
    }, '(test)', {}, {}, '/tmp');
    const [a, b] = loadTenants(config);
    expect(a.config.school).toMatchObject({ time_zone: 'Europe/Dublin', safeguarding_min_severity: 4, digest_time: '08:15', roster: 'a.csv', domains: ['a.sch.uk'] });
    expect(a.config.policy.mode).toBe('monitor');
    expect(b.config.school.digest_time).toBe('06:00');
    expect(b.config.policy.rules['pupil-name-in-subject']).toEqual({ action: 'quarantine', severity: 5 });
  });
});

describe('limits.memory_mb by default', () => {
  it('is half of what the process may have: the machine, or a lower cgroup limit (systemd MemoryMax, a container)', () => {
    const half = (bytes: number) => Math.max(256, Math.floor(bytes / 2 / 1024 / 1024));
    expect(validateConfig({ listen: '127.0.0.1:0' }, '(test)', {}, {}, tmpdir()).limits.memoryMb).toBe(half(Math.min(totalmem(), process.constrainedMemory() || Infinity)));
    // The same in a process under a 1 GB memory cgroup (v1 here, as on the build machines).
    const group = `/sys/fs/cgroup/memory/hallmonitor-test-${process.pid}`;
    mkdirSync(group);
    try {
      writeFileSync(`${group}/memory.limit_in_bytes`, String(1024 ** 3));
      const script = `const { validateConfig } = await import(${JSON.stringify(path.resolve('src/config/index.ts'))}); console.log(validateConfig({ listen: '127.0.0.1:0' }, '(test)', {}, {}, ${JSON.stringify(tmpdir())}).limits.memoryMb)`;
      const out = execFileSync('/bin/sh', ['-c', `echo $$ > ${group}/cgroup.procs && exec "$0" --input-type=module -e "$1"`, process.execPath, script], { encoding: 'utf8' });
      expect(Number(out.trim())).toBe(512);
    } finally {
      rmdirSync(group);
    }
  });
});
