// Many schools, one service. A multi-academy trust or a local authority lists its schools under
// `tenants:`; each has its own domains, roster, policy overrides, business manager, templates and
// quarantine. The top-level `school:` and `policy:` sections are then the trust's defaults, which
// every school inherits. Without `tenants:` the one `school:` is the only tenant.
//
// The tenant of a message is chosen by the sender's domain (MAIL FROM) or by the authenticated
// relay user; a message from a domain no tenant owns is refused, never inspected under another
// school's roster.
import { Problems, type Config } from './config/index.ts';
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

const TENANT_KEYS = ['id', 'name', 'domains', 'relay_users', 'school', 'policy', 'roster_school'];
const TRUST_KEYS = ['name', 'roster'];

/** Validates `tenants:` and `trust:` and returns one spec per school (one in single-school mode). */
export function loadTenants(config: Config): TenantSpec[] {
  const tenantsDoc = config.tenants;
  if (tenantsDoc === undefined) {
    // A single school: when its domains are known, mail from other domains is refused too (with a
    // Microsoft 365 connector, allow_networks holds ranges that other organisations share).
    const domains = Array.isArray(config.school.domains) ? config.school.domains.filter((d): d is string => typeof d === 'string').map((d) => d.toLowerCase().replace(/^@/, '')) : [];
    return [{ id: SINGLE_TENANT, name: String(config.school.name ?? 'the school'), domains, relayUsers: [], config }];
  }
  const p = new Problems();
  const trust = config.trust ?? {};
  p.unknownKeys(trust, TRUST_KEYS, 'trust.');
  const trustRoster = trust.roster === undefined ? undefined : p.string(trust.roster, 'trust.roster');
  const list = p.list(tenantsDoc, 'tenants');
  if (!list.length) p.add('tenants: the list is empty; remove the key for a single school');
  const seenIds = new Set<string>();
  const owner = new Map<string, string>();
  const userOwner = new Map<string, string>();
  const known = new Set(config.relay.users.map((u) => u.username));
  const specs: TenantSpec[] = [];
  list.forEach((entry, i) => {
    const key = `tenants[${i}]`;
    const t = p.object(entry, key);
    p.unknownKeys(t, TENANT_KEYS, `${key}.`);
    const id = p.string(t.id, `${key}.id`) ?? `#${i}`;
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(id)) p.add(`${key}.id: "${id}" must be lower-case letters, digits and hyphens`);
    if (seenIds.has(id)) p.add(`${key}.id: "${id}" is used by another tenant`);
    seenIds.add(id);
    const name = p.string(t.name, `${key}.name`) ?? id;
    const domains = p.list(t.domains ?? [], `${key}.domains`).flatMap((d, j) => {
      const s = p.string(d, `${key}.domains[${j}]`)?.toLowerCase();
      if (!s) return [];
      const other = owner.get(s);
      if (other) p.add(`${key}.domains[${j}]: ${s} already belongs to tenant ${other}`);
      owner.set(s, id);
      return [s];
    });
    if (!domains.length) p.add(`${key}.domains: each school needs at least one mail domain`);
    const relayUsers = p.list(t.relay_users ?? [], `${key}.relay_users`).flatMap((u, j) => {
      const s = p.string(u, `${key}.relay_users[${j}]`);
      if (!s) return [];
      if (!known.has(s)) p.add(`${key}.relay_users[${j}]: "${s}" is not one of relay.users`);
      const other = userOwner.get(s);
      if (other) p.add(`${key}.relay_users[${j}]: "${s}" already sends for tenant ${other}`);
      userOwner.set(s, id);
      return [s];
    });
    const school = t.school === undefined ? {} : p.object(t.school, `${key}.school`);
    const policy = t.policy === undefined ? {} : p.object(t.policy, `${key}.policy`);
    const rosterSchool = t.roster_school === undefined ? undefined : p.string(t.roster_school, `${key}.roster_school`);
    // The school's view: trust defaults, then its own settings. Domains are the tenant's own.
    const mergedSchool = { ...withoutKeys(config.school, ['domains', 'roster', 'staff_list']), ...school, name, domains };
    const mergedPolicy = mergePolicy(config.policy, policy);
    const hasOwnRoster = school.roster !== undefined;
    if (!hasOwnRoster && !trustRoster) p.add(`${key}: no roster (give ${key}.school.roster, or trust.roster with a school column)`);
    specs.push({
      id,
      name,
      domains,
      relayUsers,
      config: { ...config, school: mergedSchool, policy: mergedPolicy },
      trustRoster: !hasOwnRoster && trustRoster ? { path: trustRoster, school: rosterSchool ?? id } : undefined,
    });
  });
  p.throwIfAny(config.source);
  return specs;
}

/** Rules merge one level down, so a school can change one setting of one rule. */
function mergePolicy(trust: Record<string, unknown>, school: Record<string, unknown>): Record<string, unknown> {
  const rules: Record<string, unknown> = { ...((trust.rules as Record<string, unknown>) ?? {}) };
  for (const [id, r] of Object.entries((school.rules as Record<string, unknown>) ?? {})) {
    const base = rules[id];
    rules[id] = base && typeof base === 'object' && r && typeof r === 'object' ? { ...base, ...r } : r;
  }
  return { ...trust, ...school, rules };
}

function withoutKeys(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out = { ...o };
  for (const k of keys) delete out[k];
  return out;
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
