// The outbox worker: sends the notices and release deliveries that holds and review actions
// queued, through the same next hop as everything else (a Deliverer). Rows are claimed with a
// lease (FOR UPDATE SKIP LOCKED on PostgreSQL), so several gateways sharing one database never
// take the same row; a failed send is retried with exponential backoff; a permanent refusal is
// recorded in the incident's history. A row is marked sent only after the next hop said 250: if
// the process dies in between, the row's lease runs out and it is sent again with the same
// Message-ID (the one window where a duplicate is possible; nothing is ever lost).
import { randomBytes } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import type { Logger } from 'pino';
import { redactAddresses, type Deliverer, type DeliveryResult } from '../deliver.ts';
import { relayedParts } from '../trace.ts';
import { dkimSign, type DkimSettings } from '../dkim.ts';
import type { Store } from '../../store/index.ts';
import { appendHistory, findIncident, heldMessage, incidentHistory, transition, type Incident } from '../../store/incidents.ts';
import { NOTE_TO_SENDER } from '../../store/incidents.ts';
import { claimDue, markFailed, markRetry, markSent, nextDue, outboxRow, type OutboxRow } from '../../store/outbox.ts';
import { claimDueBounces, enqueueBounce, removeBounce, retryBounce, type BounceRow } from '../../store/bounces.ts';
import { failureNotice } from '../bounce.ts';
import { linkKey } from '../../store/links.ts';
import { buildEmail, composeDigest, composeIncidentNotice, type EmailLinks, type Notice, type Templates } from './compose.ts';
import { signLink } from './links.ts';
import type { NotifySettings } from './settings.ts';
import type { SchoolNotices } from './schools.ts';

export interface OutboxWorkerOptions {
  store: Store;
  deliverer: Deliverer;
  /** The trust's (or the single school's) settings and templates. */
  settings: NotifySettings;
  templates: Templates;
  /**
   * Each school's own settings and templates, by tenant id (src/act/notify/schools.ts): a notice
   * speaks as the incident's school. Unknown ids, or no lookup, use `settings` and `templates`.
   */
  schoolFor?: (tenant: string) => SchoolNotices | undefined;
  /**
   * Each school's detectors, to tell whether a file name holds personal data (redacting it changes
   * it): only such names are masked in notices. Without it every file name is masked.
   */
  redactFor?: (tenant: string) => ((text: string) => string) | undefined;
  /** The name in the trace header of released mail. */
  hostname: string;
  /** The loop guard's secret: released mail carries X-Hallmonitor-Checked like delivered mail. */
  checkedSecret?: string;
  /** DKIM: notices are signed; released mail too with sign_relayed. */
  dkim?: DkimSettings;
  logger?: Logger;
  /** How often an idle worker looks for due rows (ms). */
  pollMs?: number;
  /** How long a claim holds before another worker may take the row over (ms). */
  leaseMs?: number;
  batch?: number;
  /** First retry delay; doubles each attempt up to maxRetryMs. */
  retryBaseMs?: number;
  maxRetryMs?: number;
  /** After this many attempts a row is given up (failed) and the failure recorded. */
  maxAttempts?: number;
  now?: () => Date;
}

export type JobOutcome =
  | { state: 'sent'; detail: string }
  | { state: 'retrying'; detail: string; nextAttempt: Date }
  | { state: 'failed'; detail: string };

export interface OutboxWorker {
  /** Look for due rows now (called after a commit that queued some). */
  kick(): void;
  /** One pass: claim and send what is due. Returns how many rows were handled. */
  runOnce(): Promise<number>;
  /**
   * Send one row now if it is due and nobody else holds it (or it was queued claimed by this
   * worker, see `claim`); otherwise wait for whoever does.
   */
  sendJob(id: string, waitMs?: number): Promise<JobOutcome>;
  /** A claim to queue a row with that this worker's `sendJob` then sends (store/outbox.ts). */
  claim(): { worker: string; until: Date };
  /** Start the polling loop (not needed for a one-off sendJob from the CLI). */
  start(): void;
  stop(): Promise<void>;
  readonly id: string;
}

export function createOutboxWorker(o: OutboxWorkerOptions): OutboxWorker {
  const id = `${o.hostname || osHostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const now = o.now ?? (() => new Date());
  const pollMs = o.pollMs ?? 5_000;
  const leaseMs = o.leaseMs ?? 5 * 60_000;
  const batch = o.batch ?? 50;
  const retryBase = o.retryBaseMs ?? 60_000;
  const maxRetry = o.maxRetryMs ?? 60 * 60_000;
  const maxAttempts = o.maxAttempts ?? 40;
  const log = o.logger;
  const { db } = o.store;

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let again = false;

  const backoff = (attempts: number): Date => {
    const base = Math.min(maxRetry, retryBase * 2 ** Math.max(0, attempts - 1));
    const jitter = base * 0.1 * (Math.random() * 2 - 1);
    return new Date(now().getTime() + Math.max(0, Math.round(base + jitter)));
  };

  const describe = (r: DeliveryResult): string => (r.ok ? r.response : `${r.code} ${r.enhanced} ${r.reason}`).replace(/[\r\n]+/g, ' ').slice(0, 300);

  async function settle(rows: OutboxRow[], result: DeliveryResult, recipient: string): Promise<JobOutcome> {
    const ids = rows.map((r) => r.id);
    const refused = result.ok ? result.refused.find((x) => x.address.toLowerCase() === recipient.toLowerCase()) : undefined;
    if (result.ok && !refused) {
      await db.transaction().execute(async (trx) => {
        await markSent(trx, ids, id, now());
        for (const r of rows) await appendHistory(trx, r.reference, 'hallmonitor', 'notified', `${r.template} notice sent${r.mode === 'digest' ? ' (daily digest)' : ''}`, now());
      });
      log?.info({ event: 'notice-sent', template: rows[0].template, references: rows.map((r) => r.reference), mode: rows[0].mode }, 'notification sent');
      return { state: 'sent', detail: describe(result) };
    }
    const permanent = refused ? refused.code >= 500 : !result.ok && result.code >= 500;
    const detail = refused ? `${refused.code} ${refused.response}`.slice(0, 300) : describe(result);
    const attempts = Math.max(...rows.map((r) => r.attempts));
    if (permanent || attempts >= maxAttempts) {
      await db.transaction().execute(async (trx) => {
        await markFailed(trx, ids, id, redactAddresses(detail));
        for (const r of rows) await appendHistory(trx, r.reference, 'hallmonitor', 'notice-failed', `${r.template} notice could not be delivered after ${r.attempts} attempt(s): ${detail}`, now());
      });
      log?.error({ event: 'notice-failed', template: rows[0].template, references: rows.map((r) => r.reference), detail: redactAddresses(detail) }, 'notification could not be delivered');
      return { state: 'failed', detail };
    }
    const next = backoff(attempts);
    await markRetry(db, ids, id, next, redactAddresses(detail));
    log?.warn({ event: 'notice-deferred', template: rows[0].template, references: rows.map((r) => r.reference), attempts, next: next.toISOString(), detail: redactAddresses(detail) }, 'notification deferred; will retry');
    return { state: 'retrying', detail, nextAttempt: next };
  }

  /**
   * The signed links a notice carries (src/act/notify/links.ts), made at sending time: the
   * business manager's release and reject links, for her address only; the sender's "send it
   * anyway" link where every rule of a held or blocked message lets the sender decide.
   */
  async function emailLinks(s: NotifySettings, template: string, recipient: string): Promise<((inc: Incident) => EmailLinks | undefined) | undefined> {
    if (!s.consoleUrl || !recipient) return undefined;
    const key = await linkKey(db);
    const at = now().getTime();
    const url = (path: string, token: string) => `${s.consoleUrl}/${path}/${token}`;
    if (template === 'business-manager' || template === 'business-manager-digest' || template === 'safeguarding-lead') {
      const expiresAt = new Date(at + s.emailLinkHours * 3_600_000);
      return (inc) => (inc.action === 'quarantine' && inc.status === 'open'
        ? {
            release: url('confirm', signLink(key, { purpose: 'release', reference: inc.reference, to: recipient, expiresAt })),
            reject: url('confirm', signLink(key, { purpose: 'reject', reference: inc.reference, to: recipient, expiresAt })),
          }
        : undefined);
    }
    if (template === 'sender-held' || template === 'sender-not-sent') {
      const expiresAt = new Date(at + s.overrideHours * 3_600_000);
      return (inc) => (inc.status === 'open' && inc.sender.toLowerCase() === recipient.toLowerCase() && s.senderMayOverride(inc.rules)
        ? { override: url('send-anyway', signLink(key, { purpose: 'override', reference: inc.reference, to: recipient, expiresAt })), overrideUntil: new Date(expiresAt) }
        : undefined);
    }
    return undefined;
  }

  async function sendNotice(rows: OutboxRow[]): Promise<JobOutcome> {
    const first = rows[0];
    const incidents: Incident[] = [];
    for (const r of rows) {
      const inc = await findIncident(db, r.reference);
      if (inc) incidents.push(inc);
    }
    if (!incidents.length) {
      await markFailed(db, rows.map((r) => r.id), id, 'incident no longer exists');
      return { state: 'failed', detail: 'incident no longer exists' };
    }
    // Rows are grouped by school, so one digest never mixes two schools' incidents.
    const { settings, templates } = o.schoolFor?.(first.tenant) ?? { settings: o.settings, templates: o.templates };
    const redact = o.redactFor?.(first.tenant);
    const personalIn = redact ? (text: string) => redact(text) !== text : undefined;
    const links = await emailLinks(settings, first.template, first.recipient);
    let notice: Notice;
    if (first.mode === 'digest') notice = composeDigest(templates, settings, incidents, { personalIn, links });
    else {
      const inc = incidents[0];
      const template = first.template === 'safeguarding-lead' ? 'business-manager' : first.template;
      const note = first.template === 'sender-rejected'
        ? (await incidentHistory(db, inc.reference)).filter((h) => h.action === NOTE_TO_SENDER).at(-1)?.detail ?? undefined
        : undefined;
      notice = composeIncidentNotice(templates, settings, template as Parameters<typeof composeIncidentNotice>[2], inc, {
        safeguarding: first.template === 'safeguarding-lead',
        actor: first.actor ?? undefined,
        note,
        personalIn,
        links: links?.(inc),
      });
    }
    const email = await buildEmail(settings, notice, first.recipient, first.message_id_header, now(), first.mode === 'digest' ? undefined : first.reference);
    const result = await o.deliverer.deliver(
      { mailFrom: settings.returnPath, mailFromParams: {}, rcptTo: [{ address: first.recipient }] },
      [o.dkim ? await dkimSign([email], o.dkim) : email],
    );
    return settle(rows, result, first.recipient);
  }

  async function sendRelease(row: OutboxRow): Promise<JobOutcome> {
    const held = await heldMessage(db, row.reference);
    const inc = await findIncident(db, row.reference);
    const fail = async (detail: string, reopen: boolean): Promise<JobOutcome> => {
      await db.transaction().execute(async (trx) => {
        await markFailed(trx, [row.id], id, redactAddresses(detail));
        await appendHistory(trx, row.reference, 'hallmonitor', 'release-failed', detail, now());
        if (reopen) await transition(trx, row.reference, ['released'], 'open', now());
      });
      log?.error({ event: 'release-failed', reference: row.reference, detail: redactAddresses(detail) }, 'released message could not be delivered');
      return { state: 'failed', detail };
    };
    if (!held?.raw || !inc) return fail('the held message is no longer in the quarantine', false);
    if (inc.status !== 'released') return fail(`the incident is ${inc.status}, no longer released`, false);
    const message = { id: held.messageId, envelope: held.envelope, raw: held.raw, receivedAt: held.receivedAt, client: held.client };
    const relayed = relayedParts(message, o.hostname, o.checkedSecret);
    const result = await o.deliverer.deliver(held.envelope, o.dkim?.signRelayed ? [await dkimSign(relayed, o.dkim)] : relayed);
    if (result.ok) {
      // Recipients the next hop refused: the sender is told, as for mail it passed at once.
      const bounce = failureNotice({ hostname: o.hostname, envelope: held.envelope, refused: result.refused, raw: held.raw, messageId: held.messageId });
      await db.transaction().execute(async (trx) => {
        await markSent(trx, [row.id], id, now());
        if (bounce) await enqueueBounce(trx, held.envelope.mailFrom, bounce, now());
        const refused = result.refused.length ? `; refused by the next hop for ${result.refused.map((r) => `${r.address} (${r.code})`).join(', ')}` : '';
        await appendHistory(trx, row.reference, 'hallmonitor', 'delivered',
          `released message delivered unchanged to ${result.accepted.length} recipient(s) (released by ${row.actor ?? 'unknown'}): ${describe(result)}${refused}`, now());
      });
      log?.info({ event: 'release-delivered', reference: row.reference, accepted: result.accepted.length, refused: result.refused.length }, 'released message delivered');
      return { state: 'sent', detail: describe(result) };
    }
    if (result.code >= 500 || row.attempts >= maxAttempts) {
      return fail(`the next hop refused the released message: ${describe(result)}; the incident is open again`, true);
    }
    const next = backoff(row.attempts);
    await markRetry(db, [row.id], id, next, redactAddresses(describe(result)));
    log?.warn({ event: 'release-deferred', reference: row.reference, attempts: row.attempts, detail: redactAddresses(describe(result)) }, 'released message deferred; will retry');
    return { state: 'retrying', detail: describe(result), nextAttempt: next };
  }

  async function handle(rows: OutboxRow[]): Promise<Map<string, JobOutcome>> {
    const outcomes = new Map<string, JobOutcome>();
    const groups: OutboxRow[][] = [];
    const digests = new Map<string, OutboxRow[]>();
    for (const r of rows) {
      if (r.job === 'notice' && r.mode === 'digest') {
        const key = `${r.tenant}\n${r.template}\n${r.recipient.toLowerCase()}`;
        const g = digests.get(key);
        if (g) g.push(r);
        else digests.set(key, [r]);
      } else groups.push([r]);
    }
    groups.push(...digests.values());
    for (const g of groups) {
      let outcome: JobOutcome;
      try {
        outcome = g[0].job === 'release' ? await sendRelease(g[0]) : await sendNotice(g);
      } catch (err) {
        // A fault of ours (database, template): try again later, never lose the row.
        const detail = (err as Error).message;
        const next = backoff(g[0].attempts);
        await markRetry(db, g.map((r) => r.id), id, next, redactAddresses(detail)).catch(() => undefined);
        log?.error({ event: 'outbox-error', references: g.map((r) => r.reference), err: redactAddresses(detail) }, 'outbox job failed; will retry');
        outcome = { state: 'retrying', detail, nextAttempt: next };
      }
      for (const r of g) outcomes.set(r.id, outcome);
    }
    return outcomes;
  }

  async function runOnce(): Promise<number> {
    let total = 0;
    for (;;) {
      const rows = await claimDue(db, o.store.kind, id, now(), leaseMs, batch);
      if (!rows.length) break;
      await handle(rows);
      total += rows.length;
      if (rows.length < batch || stopped) break;
    }
    // Failure notices one at a time: each claimed just before it is sent, so a slow next hop
    // never lets a lease run out on notices still waiting their turn (another gateway would take
    // them over and send them twice). Not once stopping.
    for (let n = 0; n < batch && !stopped; n++) {
      const [row] = await claimDueBounces(db, o.store.kind, id, now(), leaseMs, 1);
      if (!row) break;
      await sendBounce(row);
      total++;
    }
    return total;
  }

  /**
   * A failure notice to a sender (src/store/bounces.ts), from the null sender as every bounce is.
   * Gone once the next hop takes it; a refusal (5xx) or the last attempt gives it up, and says so.
   */
  async function sendBounce(row: BounceRow): Promise<void> {
    let result: DeliveryResult;
    try {
      result = await o.deliverer.deliver({ mailFrom: '', mailFromParams: {}, rcptTo: [{ address: row.recipient }] }, [row.raw]);
    } catch (err) {
      result = { ok: false, code: 451, enhanced: '4.3.0', reason: 'error', detail: (err as Error).message, ms: 0, kind: 'deferred' } as DeliveryResult;
    }
    if (result.ok && !result.refused.length) {
      await removeBounce(db, row.id, id);
      log?.info({ event: 'bounce-sent', attempts: row.attempts }, 'told the sender about recipients the next hop refused');
      return;
    }
    const detail = redactAddresses(describe(result));
    if ((result.ok || result.code >= 500) || row.attempts >= maxAttempts) {
      await removeBounce(db, row.id, id);
      log?.error({ event: 'bounce-failed', attempts: row.attempts, detail }, 'could not tell the sender about refused recipients; given up');
      return;
    }
    await retryBounce(db, row.id, id, backoff(row.attempts), detail);
    log?.warn({ event: 'bounce-deferred', attempts: row.attempts, detail }, 'failure notice to the sender deferred; will retry');
  }

  const schedule = (ms: number) => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(tick, ms);
    timer.unref?.();
  };

  function tick(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = runOnce();
    running
      .catch((err: Error) => {
        log?.error({ event: 'outbox-error', err: err.message }, 'outbox pass failed; will retry');
        return 0;
      })
      .then(async () => {
        running = undefined;
        if (again) {
          again = false;
          return schedule(0);
        }
        // Sleep until the next row is due, but never longer than the poll interval (another
        // gateway or the CLI may queue rows this process does not hear about).
        const due = await nextDue(db).catch(() => null);
        const wait = due ? Math.max(0, Math.min(pollMs, due.getTime() - now().getTime())) : pollMs;
        schedule(wait);
      });
  }

  return {
    id,
    kick: () => schedule(0),
    runOnce,
    claim: () => ({ worker: id, until: new Date(now().getTime() + leaseMs) }),
    async sendJob(jobId, waitMs = 30_000) {
      const mine = await outboxRow(db, jobId);
      const rows = mine?.status === 'sending' && mine.claimed_by === id
        ? [mine]
        : await claimDue(db, o.store.kind, id, now(), leaseMs, 1, { id: jobId });
      if (rows.length) return (await handle(rows)).get(jobId)!;
      // Someone else (a gateway's worker) has it, or it is waiting for a retry: watch the row.
      const until = Date.now() + waitMs;
      for (;;) {
        const row = await outboxRow(db, jobId);
        if (!row) return { state: 'failed', detail: 'no such outbox job' };
        if (row.status === 'sent') return { state: 'sent', detail: 'delivered by another worker' };
        if (row.status === 'failed') return { state: 'failed', detail: row.last_error ?? 'failed' };
        if (row.status === 'pending' && row.attempts > 0) return { state: 'retrying', detail: row.last_error ?? '', nextAttempt: new Date(row.next_attempt_at) };
        if (Date.now() > until) return { state: 'retrying', detail: 'still being sent by another worker', nextAttempt: new Date(row.next_attempt_at) };
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
    start: () => schedule(0),
  };
}

/** Creates the worker and starts its loop. */
export function startOutboxWorker(o: OutboxWorkerOptions): OutboxWorker {
  const w = createOutboxWorker(o);
  w.start();
  return w;
}
