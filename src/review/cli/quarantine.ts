// `hallmonitor quarantine list|show|release|reject`: held mail from the command line (the web
// console offers the same): look at it, release it unchanged to its recipients, or reject it.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  ActionError, type Common, type Filtered, type Acting, defaultActor, commonOptions, actingOptions, withStore, parseSchools, schoolColumn, schoolOption, out, summaryLine, incidentJson, printIncident, mustFind,
} from './shared.ts';

export function registerQuarantineCommands(program: Command): void {
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
        if (opts.queueOnly || !config.nextHop) {
          const { incident } = await l.releaseIncident(schools.hold(store, config), key, opts.as, opts.reason);
          out(`${incident.reference} released by ${opts.as}.`);
          out(config.nextHop ? 'The running gateway will deliver it.' : 'No next hop is configured here: the running gateway will deliver it.');
          return;
        }
        const deliverer = l.createDeliverer(config.nextHop, { hostname: config.hostname });
        try {
          // Queued already claimed by this command, so it goes out through this next hop (a
          // running gateway takes it over only if this command dies before it is sent).
          const worker = schools.worker(store, config, deliverer);
          const { incident, jobId } = await l.releaseIncident(schools.hold(store, config), key, opts.as, opts.reason, { claim: worker.claim() });
          out(`${incident.reference} released by ${opts.as}.`);
          const r = await worker.sendJob(jobId);
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
          const { schoolRedactor } = await import('../../examine.ts');
          redactNote = await schoolRedactor(config, found.tenant);
        }
        const ctx = { ...schools.hold(store, config), redactNote };
        const { incident, notices } = await l.rejectIncident(ctx, key, opts.as, opts.reason ?? '');
        out(`${incident.reference} rejected by ${opts.as}. ${notices ? 'The sender will be told.' : 'The sender is not told (no school address to write to).'}`);
      });
    });
}
