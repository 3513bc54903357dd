// Many schools, one service. A multi-academy trust or a local authority lists its schools under
// `tenants:`; each has its own domains, roster, policy overrides, business manager, templates and
// quarantine. The top-level `school:` and `policy:` sections are then the trust's defaults, which
// every school inherits. Without `tenants:` the one `school:` is the only tenant.
//
// The tenant of a message is chosen by the sender's domain (MAIL FROM) or by the authenticated
// relay user; a message from a domain no tenant owns is refused, never inspected under another
// school's roster.
import type { Config } from './config/index.ts';
import { parseSections, type PolicySection } from './config/schema.ts';
import type { RuleId, RuleSettings } from './decide/rules.ts';
import { domainIn, domainOf } from './decide/policy.ts';

export const SINGLE_TENANT = 'school';

export interface TenantSpec {
  id: string;
  name: string;
  /** The school's own domains (subdomains included). Empty only for a single school that has not listed them (then any sender is accepted). */
  domains: string[];
  /** Authenticated relay users (relay.users[].username) that send for this school. */
  relayUsers: string[];
  /** The configuration as this school sees it: its `school:` and `policy:` merged over the trust's. */
  config: Config;
  /** A trust-wide roster shared by several schools, with the value of its school column for this one. */
  trustRoster?: { path: string; school: string };
}

/**
 * One spec per school (one in single-school mode), from `tenants:` and `trust:` (checked by the
 * configuration schema, src/config/schema.ts: ids, domains, relay users and rosters).
 */
export function loadTenants(config: Config): TenantSpec[] {
  if (config.tenants === undefined) {
    // A single school: when its domains are known, mail from other domains is refused too (with a
    // Microsoft 365 connector, allow_networks holds ranges that other organisations share).
    return [{ id: SINGLE_TENANT, name: config.school.name ?? 'the school', domains: config.school.domains, relayUsers: [], config }];
  }
  const trustRoster = config.trust?.roster;
  return config.tenants.map((t) => {
    const school = t.school ?? {};
    const name = t.name ?? t.id;
    // The school's view: trust defaults, then its own settings. Domains are the tenant's own.
    const { domains: _d, roster: _r, staff_list: _s, ...trustSchool } = config.school;
    const merged = parseSections(config.source, { school: { ...trustSchool, ...school, name, domains: t.domains }, policy: mergePolicy(config.policy, t.policy ?? {}) });
    const hasOwnRoster = school.roster !== undefined;
    return {
      id: t.id,
      name,
      domains: t.domains,
      relayUsers: t.relay_users,
      // A school may turn text recognition off for its own mail (inspection: { ocr: off }).
      config: { ...config, school: merged.school, policy: merged.policy, ocr: t.inspection && config.ocr ? { ...config.ocr, enabled: config.ocr.enabled && t.inspection.ocr } : config.ocr },
      trustRoster: !hasOwnRoster && trustRoster ? { path: trustRoster, school: t.roster_school ?? t.id } : undefined,
    };
  });
}

/** Rules merge one level down, so a school can change one setting of one rule. */
function mergePolicy(trust: PolicySection, school: Partial<PolicySection>): PolicySection {
  const rules = { ...trust.rules };
  for (const [id, r] of Object.entries(school.rules ?? {}) as Array<[RuleId, Partial<RuleSettings>]>) rules[id] = { ...rules[id], ...r };
  return { ...trust, ...school, rules };
}

/** Finds the school a message belongs to. */
export class TenantDirectory {
  readonly tenants: TenantSpec[];
  readonly single: boolean;
  private readonly byUser = new Map<string, TenantSpec>();

  constructor(tenants: TenantSpec[]) {
    this.tenants = tenants;
    this.single = tenants.length === 1 && tenants[0].id === SINGLE_TENANT;
    for (const t of tenants) for (const u of t.relayUsers) this.byUser.set(u, t);
  }

  /** The authenticated relay user decides first; then the sender's domain. */
  resolve(sender: string, user?: string): TenantSpec | undefined {
    if (this.single && this.tenants[0].domains.length === 0) return this.tenants[0];
    if (user) {
      const t = this.byUser.get(user);
      if (t) return t;
    }
    const domain = domainOf(sender);
    if (!domain) return undefined;
    return this.tenants.find((t) => domainIn(domain, t.domains));
  }

  /** Whether senders are checked at all: several schools, or one that listed its domains. */
  get checksSenders(): boolean {
    return !this.single || this.tenants[0].domains.length > 0;
  }

  get(id: string): TenantSpec | undefined {
    return this.tenants.find((t) => t.id === id);
  }
}
