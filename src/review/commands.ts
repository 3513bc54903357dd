// `hallmonitor quarantine …` and `hallmonitor incidents …`: the business manager's actions on held
// mail and the incident register, from the command line (the web console offers the same).
// Every action records who did it (--as NAME, default the logged-in user) and why (--reason).
import { writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { Command, Option } from 'commander';
import type { Config } from '../config/index.ts';
import type { IncidentStatus, Store } from '../store/index.ts';
import type { Incident, HistoryEntry } from '../store/incidents.ts';
import type { HoldContext } from '../act/hold.ts';
import type { NotifySettings } from '../act/notify/settings.ts';
import type { NoticeDirectory } from '../act/notify/schools.ts';
import type { OutboxWorker } from '../act/notify/worker.ts';
import type { Deliverer } from '../act/deliver.ts';
import { DECISIONS, registerCsv, type RegisterEntry } from './register.ts';

// The statuses, repeated here so `--help` needs no database code loaded.
const INCIDENT_STATUSES: readonly IncidentStatus[] = ['open', 'released', 'rejected', 'reported-to-ico', 'closed-no-breach'];

/** Store, workflow and mail code is loaded only when a command runs, so other commands start fast. */
async function lib() {
  const [config, store, incidents, outbox, hold, actions, settings, compose, worker, deliver, schools, tenants] = await Promise.all([
    import('../config/index.ts'),
    import('../store/index.ts'),
    import('../store/incidents.ts'),
    import('../store/outbox.ts'),
    import('../act/hold.ts'),
    import('./actions.ts'),
    import('../act/notify/settings.ts'),
    import('../act/notify/compose.ts'),
    import('../act/notify/worker.ts'),
    import('../act/deliver.ts'),
    import('../act/notify/schools.ts'),
    import('../tenants.ts'),
  ]);
  return { ...config, ...store, ...incidents, ...outbox, ...hold, ...actions, ...settings, ...compose, ...worker, ...deliver, ...schools, ...tenants };
}
type Lib = Awaited<ReturnType<typeof lib>>;

/** A review action that does not apply (unknown reference, wrong state, bad flag): exit 1 with the message. */
class ActionError extends Error {}

interface Common { config?: string; data?: string }
interface Filtered extends Common { school?: string }
interface Acting extends Common { as?: string; reason?: string }

function defaultActor(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

function commonOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'YAML configuration file (the same one the gateway uses)')
    .option('--data <dir>', 'data directory (where the SQLite quarantine is, when no database_url is set)')
    .exitOverride();
}

function actingOptions(cmd: Command, reasonRequired: boolean): Command {
  return commonOptions(cmd)
    .option('--as <name>', 'who is doing this, recorded in the incident history', defaultActor())
    .addOption(reasonRequired
      ? new Option('--reason <text>', 'why, recorded in the incident history').makeOptionMandatory()
      : new Option('--reason <text>', 'why, recorded in the incident history'));
}

/** What a command knows about the schools this configuration serves. */
interface Schools {
  notices: NoticeDirectory;
  /** More than one school: lists show which school each incident belongs to. */
  several: boolean;
  name(tenant: string): string;
  /** A hold context whose review actions write to the incident's own school. */
  hold(store: Store, config: Config): HoldContext;
  /** An outbox worker composing each notice as its school, delivering through the next hop. */
  worker(store: Store, config: Config, deliverer: Deliverer): OutboxWorker;
}

async function withStore<T>(opts: Common, fn: (store: Store, config: Config, notify: NotifySettings, l: Lib, schools: Schools) => Promise<T>): Promise<T> {
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
      store, deliverer, settings: notify, templates: notices.trust.templates, schoolFor: notices.school, hostname: cfg.hostname,
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
async function parseSchools(v: string | undefined, schools: Schools, store: Store): Promise<string[] | undefined> {
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
function schoolColumn(list: Incident[], schools: Schools): (i: Incident) => string | undefined {
  const show = schools.several || new Set(list.map((i) => i.tenant)).size > 1;
  return (i) => (show ? i.tenant : undefined);
}

function schoolOption(cmd: Command): Command {
  return cmd.option('--school <id>', 'only this school (its id under tenants:; comma-separated for several)');
}

const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);

function parseDate(v: string, flag: string): Date {
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v);
  if (Number.isNaN(d.getTime())) throw new ActionError(`${flag}: "${v}" is not a date (use YYYY-MM-DD)`);
  return d;
}

function parseStatuses(v: string | undefined): IncidentStatus[] | undefined {
  if (!v || v === 'all') return undefined;
  const list = v.split(',').map((s) => s.trim());
  for (const s of list) {
    if (!(INCIDENT_STATUSES as readonly string[]).includes(s)) throw new ActionError(`--status: "${s}" is not one of ${INCIDENT_STATUSES.join(', ')}, all`);
  }
  return list as IncidentStatus[];
}

function summaryLine(l: Lib, i: Incident, tz: string, school?: string): string {
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

function incidentJson(l: Lib, i: Incident, schools: Schools): Record<string, unknown> {
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

function printIncident(l: Lib, i: Incident, history: HistoryEntry[], tz: string, extra: string[], schools: Schools): void {
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

async function mustFind(l: Lib, store: Store, key: string): Promise<Incident> {
  const inc = await l.findIncident(store.db, key);
  if (!inc) throw new ActionError(`no incident ${key} (see: hallmonitor incidents list)`);
  return inc;
}


export function registerReviewCommands(program: Command): void {
  // ------------------------------------------------------------------------------- quarantine
  const quarantine = program
    .command('quarantine')
    .description('Held mail: list it, look at it, release it to its recipients or reject it')
    .exitOverride();

  schoolOption(commonOptions(quarantine.command('list')))
    .description('List held messages waiting for a decision (or all held messages with --all)')
    .option('--all', 'include released, rejected and closed ones, and blocked near misses')
    .option('--json', 'one JSON object per line')
    .option('--limit <n>', 'at most this many', '200')
    .action(async (opts: Filtered & { all?: boolean; json?: boolean; limit: string }) => {
      await withStore(opts, async (store, _config, notify, l, schools) => {
        const list = await l.listIncidents(store.db, {
          tenant: await parseSchools(opts.school, schools, store),
          status: opts.all ? undefined : ['open'],
          kind: opts.all ? undefined : ['held'],
          withMessage: !opts.all,
          limit: Math.max(1, Number(opts.limit) || 200),
        });
        if (opts.json) {
          for (const i of list) out(JSON.stringify(incidentJson(l, i, schools)));
          return;
        }
        if (!list.length) return out(opts.all ? 'No held messages.' : 'Nothing is waiting for review.');
        const school = schoolColumn(list, schools);
        for (const i of list) out(summaryLine(l, i, notify.timeZone, school(i)));
        out(`${list.length} message(s). Show one: hallmonitor quarantine show REFERENCE`);
      });
    });

  commonOptions(quarantine.command('show'))
    .description('Show a held message: envelope, rules, redacted findings, history, notices. --save writes the original message to a file (recorded).')
    .argument('<reference>', 'incident reference (HM-2026-000123) or message id')
    .option('--json', 'as one JSON object')
    .option('--save <file>', 'write the original message (.eml) to this file; recorded in the history')
    .option('--as <name>', 'who is looking (recorded when --save is used)', defaultActor())
    .action(async (key: string, opts: Common & { json?: boolean; save?: string; as: string }) => {
      await withStore(opts, async (store, _config, notify, l, schools) => {
        const inc = await mustFind(l, store, key);
        const msg = await l.heldMessage(store.db, inc.reference);
        const notices = await l.outboxFor(store.db, inc.reference);
        if (opts.save) {
          if (!msg?.raw) throw new ActionError(`${inc.reference}: the held message was deleted by retention; only the incident record is left`);
          writeFileSync(opts.save, msg.raw, { mode: 0o600 });
          await l.appendHistory(store.db, inc.reference, opts.as, 'message-saved', `original message written to a file (${msg.raw.length} bytes)`);
        }
        const history = await l.incidentHistory(store.db, inc.reference);
        if (opts.json) {
          out(JSON.stringify({
            ...incidentJson(l, inc, schools),
            message: msg ? { size: msg.size, sha256: msg.sha256, receivedAt: msg.receivedAt.toISOString(), purgedAt: msg.purgedAt?.toISOString() ?? null, envelope: msg.envelope } : null,
            notices: notices.map((n) => ({ job: n.job, template: n.template, recipient: n.recipient, mode: n.mode, status: n.status, attempts: n.attempts, sentAt: n.sent_at, lastError: n.last_error })),
            history: history.map((h) => ({ ...h, at: h.at.toISOString() })),
          }));
          return;
        }
        const extra = [
          msg ? `  message:    ${msg.size} bytes, sha256 ${msg.sha256}${msg.purgedAt ? `, PURGED ${msg.purgedAt.toISOString().slice(0, 10)} (retention)` : ', held'}` : '  message:    (none)',
          '  notices:',
          ...notices.map((n) => `    - ${n.job === 'release' ? 'release delivery' : `${n.template} → ${n.recipient}`} (${n.mode}): ${n.status}${n.sent_at ? ` ${n.sent_at}` : ''}${n.status !== 'sent' && n.last_error ? ` — ${n.last_error}` : ''}`),
        ];
        printIncident(l, inc, history, notify.timeZone, extra, schools);
        if (opts.save) out(`Original message saved to ${opts.save}`);
      });
    });

  actingOptions(quarantine.command('release'), true)
    .description('Deliver a held message, unchanged and without checking it again, to its original recipients through the next hop')
    .argument('<reference>', 'incident reference (HM-2026-000123) or message id')
    .option('--queue-only', 'record the release and leave the delivery to the running gateway')
    .action(async (key: string, opts: Acting & { as: string; reason: string; queueOnly?: boolean }) => {
      await withStore(opts, async (store, config, _notify, l, schools) => {
        const { incident, jobId } = await l.releaseIncident(schools.hold(store, config), key, opts.as, opts.reason);
        out(`${incident.reference} released by ${opts.as}.`);
        if (opts.queueOnly || !config.nextHop) {
          out(config.nextHop ? 'The running gateway will deliver it.' : 'No next hop is configured here: the running gateway will deliver it.');
          return;
        }
        const deliverer = l.createDeliverer(config.nextHop, { hostname: config.hostname });
        try {
          const r = await schools.worker(store, config, deliverer).sendJob(jobId);
          if (r.state === 'sent') out(`Delivered to ${incident.recipients.length} recipient(s): ${r.detail}`);
          else if (r.state === 'retrying') {
            out(`Not delivered yet (${r.detail}). It stays queued and the gateway will keep trying.`);
          } else {
            process.stderr.write(`hallmonitor: the next hop refused the released message (${r.detail}); ${incident.reference} is open again.\n`);
            process.exitCode = 1;
          }
        } finally {
          deliverer.close();
        }
      });
    });

  actingOptions(quarantine.command('reject'), false)
    .description('Decide a held message will not be sent; the sender is told')
    .argument('<reference>', 'incident reference (HM-2026-000123) or message id')
    .action(async (key: string, opts: Acting & { as: string }) => {
      await withStore(opts, async (store, config, _notify, l, schools) => {
        // The reason reaches the sender redacted with the incident's own school's detectors.
        let redactNote: ((text: string) => string) | undefined;
        const found = opts.reason?.trim() ? await l.findIncident(store.db, key) : undefined;
        if (found) {
          const { schoolRedactor } = await import('../examine.ts');
          redactNote = await schoolRedactor(config, found.tenant);
        }
        const ctx = { ...schools.hold(store, config), redactNote };
        const { incident, notices } = await l.rejectIncident(ctx, key, opts.as, opts.reason ?? '');
        out(`${incident.reference} rejected by ${opts.as}. ${notices ? 'The sender will be told.' : 'The sender is not told (no school address to write to).'}`);
      });
    });

  // -------------------------------------------------------------------------------- incidents
  const incidents = program
    .command('incidents')
    .description('The incident register: every held or blocked message, its status and history, and the CSV export for governors')
    .exitOverride();

  schoolOption(commonOptions(incidents.command('list')))
    .description('List incidents, newest first')
    .option('--status <list>', `comma-separated: ${INCIDENT_STATUSES.join(', ')}, or all`, 'all')
    .option('--since <date>', 'detected on or after (YYYY-MM-DD)')
    .option('--until <date>', 'detected before (YYYY-MM-DD)')
    .option('--near-misses', 'only blocked attempts')
    .option('--json', 'one JSON object per line')
    .option('--limit <n>', 'at most this many', '500')
    .action(async (opts: Filtered & { status: string; since?: string; until?: string; nearMisses?: boolean; json?: boolean; limit: string }) => {
      await withStore(opts, async (store, _config, notify, l, schools) => {
        const list = await l.listIncidents(store.db, {
          tenant: await parseSchools(opts.school, schools, store),
          status: parseStatuses(opts.status),
          kind: opts.nearMisses ? ['near-miss'] : undefined,
          since: opts.since ? parseDate(opts.since, '--since') : undefined,
          until: opts.until ? parseDate(opts.until, '--until') : undefined,
          limit: Math.max(1, Number(opts.limit) || 500),
        });
        if (opts.json) {
          for (const i of list) out(JSON.stringify(incidentJson(l, i, schools)));
          return;
        }
        if (!list.length) return out('No incidents.');
        const school = schoolColumn(list, schools);
        for (const i of list) out(summaryLine(l, i, notify.timeZone, school(i)));
        out(`${list.length} incident(s).`);
      });
    });

  commonOptions(incidents.command('show'))
    .description('Show one incident with its full history')
    .argument('<reference>', 'incident reference (HM-2026-000123) or message id')
    .option('--json', 'as one JSON object')
    .action(async (key: string, opts: Common & { json?: boolean }) => {
      await withStore(opts, async (store, _config, notify, l, schools) => {
        const inc = await mustFind(l, store, key);
        const history = await l.incidentHistory(store.db, inc.reference);
        if (opts.json) return out(JSON.stringify({ ...incidentJson(l, inc, schools), history: history.map((h) => ({ ...h, at: h.at.toISOString() })) }));
        printIncident(l, inc, history, notify.timeZone, [], schools);
      });
    });

  schoolOption(commonOptions(incidents.command('export')))
    .description("Write the incident register as CSV for the governors' report, with each incident's school (recipients as domains unless --with-addresses)")
    .option('--since <date>', 'detected on or after (YYYY-MM-DD)')
    .option('--until <date>', 'detected before (YYYY-MM-DD)')
    .option('-o, --output <file>', 'write to this file instead of standard output')
    .option('--with-addresses', 'include full sender and recipient addresses')
    .action(async (opts: Filtered & { since?: string; until?: string; output?: string; withAddresses?: boolean }) => {
      await withStore(opts, async (store, _config, notify, l, schools) => {
        const list = (await l.listIncidents(store.db, {
          tenant: await parseSchools(opts.school, schools, store),
          since: opts.since ? parseDate(opts.since, '--since') : undefined,
          until: opts.until ? parseDate(opts.until, '--until') : undefined,
        })).reverse();
        const entries: RegisterEntry[] = [];
        for (const i of list) {
          const history = await l.incidentHistory(store.db, i.reference);
          const decision = [...history].reverse().find((h) => DECISIONS.includes(h.action)) ?? null;
          entries.push({ incident: i, decision });
        }
        const text = registerCsv(entries, { timeZone: notify.timeZone, schoolName: (id) => schools.name(id), withAddresses: opts.withAddresses });
        if (opts.output) {
          writeFileSync(opts.output, text);
          process.stderr.write(`${list.length} incident(s) written to ${opts.output}\n`);
        } else process.stdout.write(text);
      });
    });

  actingOptions(incidents.command('update'), false)
    .description('Record the breach procedure: mark a potential breach (72-hour ICO clock), escalate a released message, or close the incident')
    .argument('<reference>', 'incident reference (HM-2026-000123) or message id')
    .option('--potential-breach', 'mark as a potential personal data breach (ICO deadline: 72 hours from detection)')
    .option('--not-potential-breach', 'remove the potential-breach mark')
    .option('--escalate', 'a released message turned out wrong: potential breach from now, business manager told')
    .addOption(new Option('--status <status>', 'the outcome').choices(['reported-to-ico', 'closed-no-breach']))
    .action(async (key: string, opts: Acting & { as: string; potentialBreach?: boolean; notPotentialBreach?: boolean; escalate?: boolean; status?: 'reported-to-ico' | 'closed-no-breach' }) => {
      if (!opts.potentialBreach && !opts.notPotentialBreach && !opts.escalate && !opts.status) {
        throw new ActionError('nothing to do: give --potential-breach, --not-potential-breach, --escalate or --status');
      }
      if (opts.potentialBreach && opts.notPotentialBreach) throw new ActionError('--potential-breach and --not-potential-breach contradict each other');
      await withStore(opts, async (store, config, notify, l, schools) => {
        const inc = await l.updateIncident(schools.hold(store, config), key, opts.as, opts.reason ?? '', {
          status: opts.status,
          potentialBreach: opts.potentialBreach ? true : opts.notPotentialBreach ? false : undefined,
          escalate: opts.escalate,
        });
        out(`${inc.reference}: ${inc.status}${inc.potentialBreach ? `, potential breach — report to the ICO by ${inc.icoDeadline ? l.formatLocal(inc.icoDeadline, notify.timeZone) : '?'}` : ''}`);
      });
    });
}
