// What `hallmonitor quarantine …` and `hallmonitor incidents …` share: the store opened from the
// configuration, the schools, the options every action takes, and how an incident is printed.
// Every action records who did it (--as NAME, default the logged-in user) and why (--reason).
import { userInfo } from 'node:os';
import { Command, Option } from 'commander';
import type { Config } from '../../config/index.ts';
import type { IncidentStatus, Store } from '../../store/index.ts';
import type { Incident, HistoryEntry } from '../../store/incidents.ts';
import type { HoldContext } from '../../act/hold.ts';
import type { NotifySettings } from '../../act/notify/settings.ts';
import type { NoticeDirectory } from '../../act/notify/schools.ts';
import type { OutboxWorker } from '../../act/notify/worker.ts';
import type { Deliverer } from '../../act/deliver.ts';

// The statuses, repeated here so `--help` needs no database code loaded.
export const INCIDENT_STATUSES: readonly IncidentStatus[] = ['open', 'released', 'rejected', 'reported-to-ico', 'closed-no-breach'];

/** Store, workflow and mail code is loaded only when a command runs, so other commands start fast. */
export async function lib() {
  const [config, store, incidents, outbox, hold, actions, settings, compose, worker, deliver, schools, tenants] = await Promise.all([
    import('../../config/index.ts'),
    import('../../store/index.ts'),
    import('../../store/incidents.ts'),
    import('../../store/outbox.ts'),
    import('../../act/hold.ts'),
    import('../actions.ts'),
    import('../../act/notify/settings.ts'),
    import('../../act/notify/compose.ts'),
    import('../../act/notify/worker.ts'),
    import('../../act/deliver.ts'),
    import('../../act/notify/schools.ts'),
    import('../../tenants.ts'),
  ]);
  return { ...config, ...store, ...incidents, ...outbox, ...hold, ...actions, ...settings, ...compose, ...worker, ...deliver, ...schools, ...tenants };
}
export type Lib = Awaited<ReturnType<typeof lib>>;

/** A review action that does not apply (unknown reference, wrong state, bad flag): exit 1 with the message. */
export class ActionError extends Error {}

export interface Common { config?: string; data?: string }
export interface Filtered extends Common { school?: string }
export interface Acting extends Common { as?: string; reason?: string }

export function defaultActor(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

export function commonOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'YAML configuration file (the same one the gateway uses)')
    .option('--data <dir>', 'data directory (where the SQLite quarantine is, when no database_url is set)')
    .exitOverride();
}

export function actingOptions(cmd: Command, reasonRequired: boolean): Command {
  return commonOptions(cmd)
    .option('--as <name>', 'who is doing this, recorded in the incident history', defaultActor())
    .addOption(reasonRequired
      ? new Option('--reason <text>', 'why, recorded in the incident history').makeOptionMandatory()
      : new Option('--reason <text>', 'why, recorded in the incident history'));
}

/** What a command knows about the schools this configuration serves. */
export interface Schools {
  notices: NoticeDirectory;
  /** More than one school: lists show which school each incident belongs to. */
  several: boolean;
  name(tenant: string): string;
  /** A hold context whose review actions write to the incident's own school. */
  hold(store: Store, config: Config): HoldContext;
  /** An outbox worker composing each notice as its school, delivering through the next hop. */
  worker(store: Store, config: Config, deliverer: Deliverer): OutboxWorker;
}

export async function withStore<T>(opts: Common, fn: (store: Store, config: Config, notify: NotifySettings, l: Lib, schools: Schools) => Promise<T>): Promise<T> {
  const l = await lib();
  const config = l.loadConfig(opts.config, { dataDir: opts.data });
  const notices = l.noticeDirectory(config, l.loadTenants(config));
  const notify = notices.trust.settings;
  const names = new Map(notices.tenants.map((t) => [t.id, t.name]));
  const schools: Schools = {
    notices,
    several: notices.tenants.length > 1,
    name: (t) => names.get(t) ?? t,
    hold: (store, cfg) => ({ store, notify, notifyFor: (t) => notices.school(t)?.settings, hostname: cfg.hostname }),
    worker: (store, cfg, deliverer) => l.createOutboxWorker({
      store, deliverer, settings: notify, templates: notices.trust.templates, schoolFor: notices.school, hostname: cfg.hostname, checkedSecret: cfg.relay.checkedHeaderSecret, dkim: cfg.dkim,
      retryBaseMs: store.settings.outboxRetrySeconds * 1000, leaseMs: store.settings.outboxLeaseSeconds * 1000,
    }),
  };
  const store = await l.openStore(config, { poolSize: 2 });
  try {
    return await fn(store, config, notify, l, schools);
  } finally {
    await store.close();
  }
}

/** `--school a,b`: configured school ids (or ids that still have incidents in the register). */
export async function parseSchools(v: string | undefined, schools: Schools, store: Store): Promise<string[] | undefined> {
  if (!v) return undefined;
  const ids = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const id of ids) {
    if (schools.notices.school(id)) continue;
    const any = await store.db.selectFrom('incidents').select('reference').where('tenant', '=', id).limit(1).executeTakeFirst();
    if (!any) throw new ActionError(`--school: "${id}" is not a school in this configuration (${schools.notices.tenants.map((t) => t.id).join(', ')})`);
  }
  return ids;
}

/** The school column of a list: shown when the configuration (or the list) has several schools. */
export function schoolColumn(list: Incident[], schools: Schools): (i: Incident) => string | undefined {
  const show = schools.several || new Set(list.map((i) => i.tenant)).size > 1;
  return (i) => (show ? i.tenant : undefined);
}

export function schoolOption(cmd: Command): Command {
  return cmd.option('--school <id>', 'only this school (its id under tenants:; comma-separated for several)');
}

export const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);

export function parseDate(v: string, flag: string): Date {
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v);
  if (Number.isNaN(d.getTime())) throw new ActionError(`${flag}: "${v}" is not a date (use YYYY-MM-DD)`);
  return d;
}

export function parseStatuses(v: string | undefined): IncidentStatus[] | undefined {
  if (!v || v === 'all') return undefined;
  const list = v.split(',').map((s) => s.trim());
  for (const s of list) {
    if (!(INCIDENT_STATUSES as readonly string[]).includes(s)) throw new ActionError(`--status: "${s}" is not one of ${INCIDENT_STATUSES.join(', ')}, all`);
  }
  return list as IncidentStatus[];
}

export function summaryLine(l: Lib, i: Incident, tz: string, school?: string): string {
  const when = l.formatLocal(i.detectedAt, tz).replace(/^\w+, /, '');
  const what = i.kind === 'near-miss' ? 'blocked' : 'held';
  return [
    i.reference.padEnd(15),
    school === undefined ? '' : `${school.padEnd(14)} `,
    when.padEnd(24),
    i.status.padEnd(17),
    what.padEnd(8),
    `sev ${i.severity}`,
    ` ${i.sender || '<>'} → ${i.recipients.length === 1 ? i.recipients[0] : `${i.recipients.length} recipients`}`,
    `  [${i.rules.join(', ')}]`,
    i.potentialBreach ? '  POTENTIAL BREACH' : '',
  ].join('');
}

export function incidentJson(l: Lib, i: Incident, schools: Schools): Record<string, unknown> {
  return {
    reference: i.reference,
    school: i.tenant,
    schoolName: schools.name(i.tenant),
    messageId: i.messageId,
    detectedAt: i.detectedAt.toISOString(),
    action: i.action,
    kind: i.kind,
    status: i.status,
    sender: i.sender,
    recipients: i.recipients,
    rules: i.rules,
    severity: i.severity,
    findings: l.safeFindings(i.findings),
    potentialBreach: i.potentialBreach,
    icoDeadline: i.icoDeadline?.toISOString() ?? null,
    escalatedAt: i.escalatedAt?.toISOString() ?? null,
    heldBy: i.heldBy,
  };
}

export function printIncident(l: Lib, i: Incident, history: HistoryEntry[], tz: string, extra: string[], schools: Schools): void {
  const lines = [
    `Incident ${i.reference}  (${i.kind === 'near-miss' ? 'near miss: blocked, nothing was sent' : 'held for review'})`,
    ...(schools.several || i.tenant !== l.SINGLE_TENANT ? [`  school:     ${schools.name(i.tenant)} (${i.tenant})`] : []),
    `  status:     ${i.status}${i.potentialBreach ? `  — POTENTIAL BREACH, report to the ICO by ${i.icoDeadline ? l.formatLocal(i.icoDeadline, tz) : '?'}` : ''}`,
    `  detected:   ${l.formatLocal(i.detectedAt, tz)} by ${i.heldBy}`,
    `  from:       ${i.sender || '<> (null sender)'}`,
    `  to:         ${i.recipients.join(', ')}`,
    `  rules:      ${i.rules.join(', ')}`,
    `  severity:   ${i.severity} of 5`,
    `  message id: ${i.messageId}`,
    ...extra,
    '  findings (redacted):',
    ...l.safeFindings(i.findings).map((f) => `    - ${f.rule || '?'} · ${f.where}${f.evidence ? ` · ${f.evidence}` : ''}\n      ${f.reason}`),
    '  history:',
    ...history.map((h) => `    ${h.at.toISOString()}  ${h.actor}  ${h.action}${h.detail ? `: ${h.detail}` : ''}`),
  ];
  out(lines.join('\n'));
}

export async function mustFind(l: Lib, store: Store, key: string): Promise<Incident> {
  const inc = await l.findIncident(store.db, key);
  if (!inc) throw new ActionError(`no incident ${key} (see: hallmonitor incidents list)`);
  return inc;
}
