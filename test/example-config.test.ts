// config/hallmonitor.example.yaml documents every key: it is checked against the one schema of the
// configuration (src/config/schema.ts), which must accept it as it is and whose every key it must
// describe; every section's module takes it, and its commented-out trust example must be valid once
// uncommented.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfig, validateConfig } from '../src/config/index.ts';
import { loadPolicy } from '../src/decide/policy.ts';
import { RULE_ALIASES, RULE_IDS, RULES } from '../src/decide/rules.ts';
import { configSchema, issueMessages, keyPaths } from '../src/config/schema.ts';
import { notifySettings } from '../src/act/notify/settings.ts';
import { storeSettings } from '../src/store/config.ts';
import { consoleSettings } from '../src/review/console/settings.ts';
import { loadTenants } from '../src/tenants.ts';

const EXAMPLE = path.resolve(import.meta.dirname, '../config/hallmonitor.example.yaml');

describe('the example configuration', () => {
  it('is valid against the schema, as it is', () => {
    const r = configSchema.safeParse(parse(readFileSync(EXAMPLE, 'utf8')), { reportInput: true });
    expect(r.success ? [] : issueMessages(r.error.issues)).toEqual([]);
  });

  it('describes every key the schema knows', () => {
    const text = readFileSync(EXAMPLE, 'utf8');
    const keys = keyPaths();
    expect(keys).toEqual(expect.arrayContaining(['school.business_manager', 'store.quarantine_retention_days', 'policy.rules.pupil-name-in-subject.action', 'tenants[].school.roster', 'console.lockout.failures']));
    // Each key appears as "key:" (set, or in a commented-out example); former rule ids are only mentioned.
    const undocumented = keys.filter((k) => {
      const name = k.split('.').pop()!.replace('[]', '');
      return !(name in RULE_ALIASES) && !new RegExp(`(^|[\\s#{,])${name}:`, 'm').test(text);
    });
    expect(undocumented).toEqual([]);
  });

  it('is accepted by every section validator', () => {
    const config = loadConfig(EXAMPLE);
    expect(config.nextHop).toMatchObject({ port: 25, starttls: 'required' });
    const policy = loadPolicy(config);
    expect(policy.schoolDomains).toEqual(['school.example.org']);
    expect(notifySettings(config).businessManager).toBe('business.manager@school.example.org');
    expect(storeSettings(config).quarantineRetentionDays).toBe(30);
    expect(consoleSettings(config).listen).not.toBeNull();
    expect(loadTenants(config)).toHaveLength(1);
  });

  it('shows every rule with exactly its shipped defaults', () => {
    const doc = parse(readFileSync(EXAMPLE, 'utf8')) as { policy: { rules: Record<string, Record<string, unknown>> } };
    expect(Object.keys(doc.policy.rules).sort()).toEqual([...RULE_IDS].sort());
    for (const id of RULE_IDS) expect(doc.policy.rules[id]).toEqual(RULES[id].defaults);
  });

  it("its commented trust example is valid once uncommented", () => {
    const text = readFileSync(EXAMPLE, 'utf8');
    const block = text.slice(text.indexOf('# trust:')).split('\n').map((l) => l.replace(/^# ?/, '')).join('\n');
    const doc = { ...(parse(text) as Record<string, unknown>), ...(parse(block) as Record<string, unknown>) };
    const config = validateConfig(doc, EXAMPLE, {}, {}, path.dirname(EXAMPLE));
    const tenants = loadTenants(config);
    expect(tenants.map((t) => [t.id, t.domains])).toEqual([['oakfield', ['oakfield.sch.uk']], ['elmwood', ['elmwood.sch.uk']]]);
    expect(tenants[1].trustRoster).toEqual({ path: '/etc/hallmonitor/trust-roster.csv', school: 'Elmwood Academy' });
    for (const t of tenants) expect(() => loadPolicy(t.config)).not.toThrow();
  });
});
