// The policy part of the configuration (`school:` and `policy:`), made into the value the decide
// stage uses. Shipped defaults follow the schools' policies; every key is documented in
// config/hallmonitor.example.yaml.
import path from 'node:path';
import { parseSections } from '../config/schema.ts';
import { RULES, RULE_IDS, type RuleId, type RuleSettings } from './rules.ts';
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
  staffListPath?: string;
  schoolDomains?: string[];
}

/**
 * The policy from the `school:` and `policy:` sections (checked by the configuration schema,
 * src/config/schema.ts, which also fills in what a hand-made section leaves out).
 */
export function loadPolicy(config: { source: string; school?: unknown; policy?: unknown; detectors?: PatternDetector[] }, overrides: PolicyOverrides = {}, baseDir = process.cwd()): Policy {
  const { school, policy } = parseSections(config.source, { school: config.school, policy: config.policy });
  const file = (v: string | undefined) => (v === undefined ? undefined : path.resolve(baseDir, v));
  const rules = {} as Record<RuleId, RuleSettings>;
  for (const id of RULE_IDS) rules[id] = { ...RULES[id].defaults, ...policy.rules[id] } as RuleSettings;
  return {
    mode: policy.mode,
    schoolDomains: overrides.schoolDomains?.length ? overrides.schoolDomains.map((d) => d.toLowerCase()) : school.domains,
    partnerDomains: school.partner_domains,
    extraWebmailDomains: policy.webmail_domains,
    rosterPath: overrides.rosterPath ?? file(school.roster),
    staffListPath: overrides.staffListPath ?? file(school.staff_list),
    rules,
    detectors: config.detectors ?? [],
  };
}

export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase().replace(/\.$/, '');
}

/** True when `domain` is one of `list` or a subdomain of one. */
export function domainIn(domain: string, list: readonly string[]): boolean {
  return list.some((d) => domain === d || domain.endsWith(`.${d}`));
}
