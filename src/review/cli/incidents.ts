// `hallmonitor incidents list|show|export|update`: the incident register from the command line:
// its history, the CSV export for governors, and the breach procedure (72-hour ICO clock).
import { Command, Option } from 'commander';
import { writeFileSync } from 'node:fs';
import { DECISIONS, registerCsv, type RegisterEntry } from '../register.ts';
import {
  INCIDENT_STATUSES, ActionError, type Common, type Filtered, type Acting, commonOptions, actingOptions, withStore, parseSchools, schoolColumn, schoolOption, out, parseDate, parseStatuses, summaryLine, incidentJson, printIncident, mustFind,
} from './shared.ts';

export function registerIncidentCommands(program: Command): void {
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
