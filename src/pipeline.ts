// One message's journey after the school's server has sent it, in order: examine it (inspect →
// detect → decide, with its school's roster and rules), then act on the verdict (deliver it to the
// next hop, or hold it durably with its incident and notices), and say what became of it. The
// outcome is a value; src/receive/index.ts, the only place that speaks SMTP, turns it into the
// reply the school's server hears. Read the two files together and you have the whole journey.
import type { Logger } from 'pino';
import { redactAddresses, type Deliverer } from './act/deliver.ts';
import { relayedParts } from './act/trace.ts';
import { dkimSign, type DkimSettings } from './act/dkim.ts';
import { failureNotice } from './act/bounce.ts';
import type { Metrics } from './review/metrics.ts';
import type { Outcome, ReceivedMessage, SchoolRoute, Verdict } from './types.ts';

export interface PipelineParts {
  hostname: string;
  deliverer: Deliverer;
  logger: Logger;
  /** Budget for inspection and policy; past it the upstream hears 451 and retries. */
  inspectTimeoutMs: number;
  metrics?: Metrics;
  /** The loop guard's secret: when set, delivered mail carries X-Hallmonitor-Checked (src/act/checked.ts). */
  checkedSecret?: string;
  /** DKIM signing of delivered mail (`dkim.sign_relayed`). */
  dkim?: DkimSettings;
  /** Durably holds a quarantined or blocked message (src/act/hold.ts); resolves after the commit. */
  hold?: (message: ReceivedMessage, verdict: Verdict, opts: { smtpReject: boolean }) => Promise<{ reference: string }>;
  /** Durably queues a failure notice to a sender (src/store/bounces.ts); resolves after the commit. */
  bounce?: (recipient: string, raw: Buffer) => Promise<void>;
}

export type Pipeline = (message: ReceivedMessage, school: SchoolRoute) => Promise<Outcome>;

export function createPipeline(parts: PipelineParts): Pipeline {
  const { deliverer, logger } = parts;
  /** A failure notice to a message's sender: into the store, or once now when it cannot be stored. */
  const queueOrSend = async (message: ReceivedMessage, bounce: Buffer): Promise<void> => {
    if (parts.bounce) {
      try {
        return await parts.bounce(message.envelope.mailFrom, bounce);
      } catch (err) {
        logger.error({ event: 'bounce-not-queued', id: message.id, err: (err as Error).message }, 'could not queue the failure notice to the sender; trying it once now');
      }
    }
    const sent = await deliverer.deliver({ mailFrom: '', mailFromParams: {}, rcptTo: [{ address: message.envelope.mailFrom }] }, [bounce]);
    // The next hop's reply names the address it refused: not written to the log as it stands.
    if (!sent.ok) logger.error({ event: 'bounce-failed', id: message.id, detail: redactAddresses(sent.detail) }, 'could not tell the sender about refused recipients');
  };
  return async function journey(message, school) {
    const started = performance.now();
    const line: Record<string, unknown> = { event: 'message', id: message.id, size: message.raw.length, rcpts: message.envelope.rcptTo.length, client: message.client.address };
    const finish = (outcome: Outcome, extra: Record<string, unknown>): Outcome => {
      const total = performance.now() - started;
      // The outcome's log line is written by the receive stage, with the reply it gave.
      outcome.log = { ...line, ...extra, outcome: outcome.kind, ms: Math.round(total) };
      const counted = outcome.kind === 'retry' ? 'tempfail' : outcome.kind === 'refused' ? 'refused' : String(extra.verdict);
      parts.metrics?.message({ verdict: counted, rules: (extra.rules as string[] | undefined) ?? [], seconds: total / 1000, wouldHaveBeen: extra.wouldHaveBeen as string | undefined });
      return outcome;
    };

    // 1. Examine: inspect → detect → decide. A fault or the deadline: the upstream retries.
    let verdict: Verdict;
    const t0 = performance.now();
    try {
      verdict = await deadline(school.examine(message), parts.inspectTimeoutMs);
    } catch (err) {
      logger.error({ event: 'inspect-failed', id: message.id, err: (err as Error).message }, 'inspection failed; upstream will retry');
      return finish({ kind: 'retry', id: message.id, why: 'not-checked' }, { verdict: 'tempfail', inspectMs: ms(t0) });
    }
    const decided = { verdict: verdict.action, rules: verdict.rules, inspectMs: ms(t0), ...(verdict.wouldHaveBeen ? { wouldHaveBeen: verdict.wouldHaveBeen } : {}) };

    // 2a. Hold: quarantine and block are stored (raw bytes, verdict, incident, notices) in one
    //     transaction before the upstream hears anything; a store failure is a retry.
    if (verdict.action !== 'deliver') {
      const refusedAtSmtp = verdict.action === 'block' && school.blockMode === 'reject';
      const t1 = performance.now();
      try {
        if (!parts.hold) throw new Error('no quarantine store');
        const { reference } = await parts.hold(message, verdict, { smtpReject: refusedAtSmtp });
        return finish({ kind: 'held', id: message.id, action: verdict.action, reference, refusedAtSmtp, rule: verdict.rules[0] }, { ...decided, holdMs: ms(t1), held: true, reference });
      } catch (err) {
        logger.error({ event: 'hold-failed', id: message.id, err: (err as Error).message }, 'could not store the held message; upstream will retry');
        return finish({ kind: 'retry', id: message.id, why: 'not-stored' }, { ...decided, holdMs: ms(t1), held: false });
      }
    }

    // 2b. Deliver: the original bytes, the trace line and the loop guard on top, the envelope as received.
    const t1 = performance.now();
    const relayed = relayedParts(message, parts.hostname, parts.checkedSecret);
    const result = await deliverer.deliver(message.envelope, parts.dkim?.signRelayed ? [await dkimSign(relayed, parts.dkim)] : relayed);
    if (!result.ok) {
      parts.metrics?.nextHopFailures.inc({ kind: result.kind });
      const extra = { ...decided, deliverMs: ms(t1), delivered: false };
      if (result.code >= 500) {
        logger.warn({ event: 'next-hop-refused', id: message.id, detail: result.detail }, 'next hop refused the message');
        return finish({ kind: 'refused', id: message.id, code: result.code, enhanced: result.enhanced, reason: result.reason }, extra);
      }
      logger.warn({ event: 'next-hop-deferred', id: message.id, detail: result.detail }, 'next hop unavailable; upstream will retry');
      return finish({ kind: 'retry', id: message.id, why: 'next-hop', code: result.code, enhanced: result.enhanced, reason: result.reason }, extra);
    }
    if (result.refused.length) {
      // Only permanent refusals reach here (a partly deferred message is abandoned and retried
      // whole). The school's server hears 250, so the sender is told by a bounce from us.
      logger.warn({ event: 'recipients-refused', id: message.id, refused: result.refused.length, codes: result.refused.map((r) => r.code) }, 'next hop refused some recipients');
      // The message itself is delivered: whatever happens to the bounce, the answer is 250
      // (a 451 now would make the school's server send it again to everyone). The notice is
      // queued in the store, sent and retried by the outbox worker like any notice; only
      // without a store (or with it failing) is it tried once, here.
      try {
        const bounce = failureNotice({ hostname: parts.hostname, envelope: message.envelope, refused: result.refused, raw: message.raw, messageId: message.id });
        if (bounce) await queueOrSend(message, bounce);
      } catch (err) {
        logger.error({ event: 'bounce-failed', id: message.id, err: (err as Error).message }, 'could not tell the sender about refused recipients');
      }
    }
    return finish({ kind: 'delivered', id: message.id, refused: result.refused.length }, { ...decided, deliverMs: ms(t1), delivered: true, refused: result.refused.length });
  };
}

function ms(t: number): number {
  return Math.round(performance.now() - t);
}

function deadline<T>(p: Promise<T>, limit: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no verdict within ${limit} ms`)), limit);
    }),
  ]).finally(() => clearTimeout(timer));
}
