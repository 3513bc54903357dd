// What each role may see and do. One table, checked by every route: the pages only hide what a
// role cannot use; the routes refuse it (403) whatever the page showed.
import type { Role } from './schema.ts';

export type Permission =
  | 'queue' // see the list of held mail (subjects, senders)
  | 'content' // open a held message: bodies, headers, attachments
  | 'record' // an incident's record: rules, redacted evidence, history
  | 'raw' // download the original message
  | 'decide' // release, reject, breach, ICO, close (safeguarding lead: safeguarding incidents only)
  | 'bulk-release'
  | 'register' // register, CSV export, governors' report
  | 'health'; // gateway health and configuration

const GRANTS: Record<Role, readonly Permission[]> = {
  'business-manager': ['queue', 'content', 'record', 'raw', 'decide', 'bulk-release', 'register', 'health'],
  'safeguarding-lead': ['queue', 'content', 'record', 'raw', 'decide', 'register'],
  'it-admin': ['health'],
  auditor: ['record', 'register'],
};

export function can(role: Role, permission: Permission): boolean {
  return GRANTS[role].includes(permission);
}

/** Where a role lands after signing in. */
export function homeFor(role: Role): string {
  if (can(role, 'queue')) return '/queue';
  if (can(role, 'register')) return '/register';
  return '/system';
}

export interface SafeguardingFacts { severity: number; rules: string[]; findings: Array<{ detector: string }> }

/**
 * Safeguarding-severity incidents: the safeguarding lead decides on these as well as the business
 * manager. Severity at or above school.safeguarding_min_severity (default 5), information sent to
 * the wrong family, or special-category data (health, SEND, safeguarding, religion, ethnicity…).
 */
export function isSafeguarding(i: SafeguardingFacts, minSeverity: number): boolean {
  return i.severity >= minSeverity || i.rules.includes('misdirected-pupil-data') || i.findings.some((f) => f.detector.startsWith('special-'));
}

export function canDecide(role: Role, incident: SafeguardingFacts, minSeverity: number): boolean {
  if (role === 'business-manager') return true;
  if (role === 'safeguarding-lead') return isSafeguarding(incident, minSeverity);
  return false;
}
