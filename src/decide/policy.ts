// The policy part of the configuration (`school:` and `policy:`), validated into a value the
// decide stage uses. Shipped defaults follow the schools' policies; every key is documented in
// config/hallmonitor.example.yaml.
import path from 'node:path';
import { ConfigError, Problems, type Config } from '../config/index.ts';
import { RULES, RULE_ALIASES, RULE_IDS, type RuleId, type RuleSettings } from './rules.ts';
import type { PatternDetector } from '../../detectors/library/types.ts';

export interface Policy {
  mode: 'enforce' | 'monitor';
  schoolDomains: string[];
  partnerDomains: string[];
  /** Extra personal webmail domains on top of config/webmail-domains.txt. */
  extraWebmailDomains: string[];
  rosterPath?: string;
  staffListPath?: string;
  rules: Record<RuleId, RuleSettings>;
  /** The school's own detectors (`detectors:` in the configuration), compiled with the shipped ones. */
  detectors: PatternDetector[];
}

export interface PolicyOverrides {
  rosterPath?: string;
  schoolDomains?: string[];
}

/** Every key of `school:` and `policy:`; the notification keys are validated by src/act/notify/settings.ts. */
export const SCHOOL_KEYS = ['name', 'domains', 'partner_domains', 'business_manager', 'safeguarding_lead', 'notifications_from', 'roster', 'staff_list',
  'digest_time', 'time_zone', 'safeguarding_min_severity', 'templates_dir'];
export const POLICY_KEYS = ['mode', 'webmail_domains', 'rules', 'block_mode', 'override_hours'];

export function loadPolicy(config: Pick<Config, 'school' | 'policy' | 'source'> & { detectors?: PatternDetector[] }, overrides: PolicyOverrides = {}, baseDir = process.cwd()): Policy {
  const p = new Problems();
  const school = config.school;
  const policy = config.policy;
  p.unknownKeys(school, SCHOOL_KEYS, 'school.');
  p.unknownKeys(policy, POLICY_KEYS, 'policy.');

  const domains = (v: unknown, key: string): string[] =>
    v === undefined || v === null
      ? []
      : p.list(v, key).flatMap((d, i) => {
          const s = p.string(d, `${key}[${i}]`);
          if (s === undefined) return [];
          const norm = s.toLowerCase().replace(/^@/, '').replace(/\.$/, '');
          if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(norm)) {
            p.add(`${key}[${i}]: "${s}" is not a domain name`);
            return [];
          }
          return [norm];
        });

  const schoolDomains = overrides.schoolDomains?.length ? overrides.schoolDomains.map((d) => d.toLowerCase()) : domains(school.domains, 'school.domains');
  const partnerDomains = domains(school.partner_domains, 'school.partner_domains');
  const extraWebmailDomains = domains(policy.webmail_domains, 'policy.webmail_domains');
  for (const key of ['business_manager', 'safeguarding_lead', 'notifications_from']) {
    const v = school[key];
    if (v !== undefined && v !== null) {
      const s = p.string(v, `school.${key}`);
      if (s && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(s)) p.add(`school.${key}: "${s}" is not an email address`);
    }
  }
  const file = (v: unknown, key: string) => {
    const s = v === undefined || v === null ? undefined : p.string(v, key);
    return s === undefined ? undefined : path.resolve(baseDir, s);
  };
  const rosterPath = overrides.rosterPath ?? file(school.roster, 'school.roster');
  const staffListPath = file(school.staff_list, 'school.staff_list');

  const mode = p.oneOf(policy.mode ?? 'enforce', ['enforce', 'monitor'], 'policy.mode');
  const given = policy.rules === undefined || policy.rules === null ? {} : p.object(policy.rules, 'policy.rules');
  // Former rule ids are read as the rule they became (uk-identifier-in-message → identifier-in-message).
  const rulesDoc: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(given)) {
    const id = RULE_ALIASES[k] ?? k;
    if (id !== k && given[id] !== undefined) p.add(`policy.rules.${k}: is the former name of ${id}, which is also given; keep one`);
    rulesDoc[id] = v;
  }
  p.unknownKeys(rulesDoc, [...RULE_IDS], 'policy.rules.');
  const rules = {} as Record<RuleId, RuleSettings>;
  for (const id of RULE_IDS) {
    const defaults = RULES[id].defaults;
    const doc = rulesDoc[id] === undefined || rulesDoc[id] === null ? {} : p.object(rulesDoc[id], `policy.rules.${id}`);
    p.unknownKeys(doc, Object.keys(defaults), `policy.rules.${id}.`);
    const merged: RuleSettings = { ...defaults };
    for (const [k, v] of Object.entries(doc)) {
      const key = `policy.rules.${id}.${k}`;
      if (k === 'action') {
        merged.action = p.oneOf(v, ['deliver', 'quarantine', 'block'], key);
        // A message that could not be checked is held, never waved through.
        if (id === 'uninspectable-attachment' && merged.action === 'deliver') p.add(`${key}: must be quarantine or block: a message Hallmonitor could not read is never delivered unchecked (use policy.mode: monitor to try the rules out)`);
      }
      else if (k === 'severity') merged.severity = p.number(v, key, { min: 1, max: 5 });
      else if (k === 'notify') merged.notify = p.oneOf(v, ['immediate', 'digest', 'none'], key);
      else if (typeof defaults[k] === 'boolean') merged[k] = p.boolean(v, key);
      else if (typeof defaults[k] === 'number') merged[k] = p.number(v, key, { min: 0, max: 1_000_000 });
      else if (Array.isArray(defaults[k])) {
        const list = p.list(v, key).filter((x, i) => (typeof x === 'string' && x.trim() ? true : (p.add(`${key}[${i}]: expected a word`), false)));
        merged[k] = (list as string[]).map((x) => x.trim());
      }
      else merged[k] = v;
    }
    rules[id] = merged;
  }
  if (p.found.length) throw new ConfigError(config.source, p.found);
  return { mode, schoolDomains, partnerDomains, extraWebmailDomains, rosterPath, staffListPath, rules, detectors: config.detectors ?? [] };
}


export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase().replace(/\.$/, '');
}

/** True when `domain` is one of `list` or a subdomain of one. */
export function domainIn(domain: string, list: string[]): boolean {
  return list.some((d) => domain === d || domain.endsWith(`.${d}`));
}
