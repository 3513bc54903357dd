// Which school a console user is looking at. In a trust (or local authority) every account belongs
// to one school or, with no school, to the whole trust. A school's business manager, safeguarding
// lead and auditor see only that school's incidents; a trust-level account (the trust's data
// protection officer) sees every school's, with a school column and a school filter. A single
// school (no `tenants:` in the configuration) has one tenant and every account sees it.
//
// Every query the console makes about incidents goes through `viewSchools` (lists) or `mayView`
// (one incident): an incident of another school is answered as if it did not exist (404), so its
// reference does not leak.
import type { Config } from '../../config/index.ts';
import { loadTenants, type TenantSpec } from '../../tenants.ts';
import type { SessionUser } from './auth.ts';

export interface School {
  id: string;
  name: string;
  /** school.safeguarding_min_severity as this school sees it (trust default, or its own). */
  safeguardingMinSeverity: number;
  /** The school's configuration (its school: and policy: merged over the trust's). */
  config: Config;
}

export interface Schools {
  /** One school, no `tenants:` in the configuration. */
  single: boolean;
  /** The trust's name (trust.name), or the one school's. */
  name: string;
  list: School[];
  get(id: string): School | undefined;
  /** The school's name, or its id when the configuration no longer lists it. */
  nameOf(id: string): string;
}

export function consoleSchools(config: Config, specs: TenantSpec[] = loadTenants(config)): Schools {
  const single = config.tenants === undefined;
  const trustName = config.trust?.name ?? '';
  const schoolName = config.school.name ?? 'the school';
  const list: School[] = specs.map((t) => ({ id: t.id, name: t.name, safeguardingMinSeverity: t.config.school.safeguarding_min_severity, config: t.config }));
  const byId = new Map(list.map((s) => [s.id, s]));
  return {
    single,
    name: single ? schoolName : trustName || (schoolName !== 'the school' ? schoolName : 'the trust'),
    list,
    get: (id) => byId.get(id),
    nameOf: (id) => byId.get(id)?.name ?? id,
  };
}

/** May this user see an incident (or anything else) of this school? */
export function mayView(user: Pick<SessionUser, 'tenant'>, tenant: string): boolean {
  return user.tenant === null || user.tenant === tenant;
}

/**
 * The schools a list shows: the user's own school; for a trust-level account, the school it asked
 * for (`?school=`) when that is one of the trust's, else every school (undefined).
 */
export function viewSchools(schools: Schools, user: Pick<SessionUser, 'tenant'>, requested?: string): string[] | undefined {
  if (user.tenant !== null) return [user.tenant];
  if (!schools.single && requested && schools.get(requested)) return [requested];
  return undefined;
}

/** The school filter a trust-level account chose (the id), or '' (every school, or not a trust account). */
export function chosenSchool(schools: Schools, user: Pick<SessionUser, 'tenant'>, requested?: string): string {
  return user.tenant === null && !schools.single && requested && schools.get(requested) ? requested : '';
}

/** Whether pages show a school column and a school filter: a trust-level account in a trust. */
export function seesSeveralSchools(schools: Schools, user: Pick<SessionUser, 'tenant'>): boolean {
  return !schools.single && user.tenant === null;
}

/** What the header says the user is looking at. */
export function scopeName(schools: Schools, user: Pick<SessionUser, 'tenant'>): string {
  if (user.tenant !== null) {
    const s = schools.get(user.tenant);
    return s ? s.name : `${user.tenant} (a school this gateway no longer serves)`;
  }
  if (schools.single) return schools.name;
  return `${schools.name} – all schools`;
}

/** The safeguarding threshold for an incident of this school. */
export function safeguardingMinSeverity(schools: Schools, tenant: string, fallback: number): number {
  return schools.get(tenant)?.safeguardingMinSeverity ?? fallback;
}
