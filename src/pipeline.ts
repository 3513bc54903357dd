// The whole journey of one message, wired in order: receive → inspect/decide → act.
// Only this file knows the order; each stage has its own entry point.
import type { Logger } from 'pino';
import type { Deliverer } from './act/deliver.ts';
import { traceHeader } from './act/trace.ts';
import { composeBounce, wantsFailureNotice } from './act/bounce.ts';
import type { SmtpReply } from './receive/index.ts';
import type { Metrics } from './review/metrics.ts';
import type { Inspector, ReceivedMessage, Verdict } from './types.ts';

export interface PipelineParts {
  hostname: string;
  inspector: Inspector;
  deliverer: Deliverer;
  logger: Logger;
  /** Budget for inspection and policy; past it the upstream hears 451 and retries. */
  inspectTimeoutMs: number;
  metrics?: Metrics;
  /** Durably holds a quarantined or blocked message (src/act/hold.ts); resolves after the commit. */
  hold?: (message: ReceivedMessage, verdict: Verdict, opts: { smtpReject: boolean }) => Promise<{ reference: string }>;
  /** `hold` (default): a block is stored and answered 250, the sender told. `reject`: stored, answered 550 5.7.1. */
  blockMode?: (message: ReceivedMessage) => 'hold' | 'reject';
}

export function createPipeline(parts: PipelineParts): (message: ReceivedMessage) => Promise<SmtpReply> {
  const { inspector, deliverer, logger } = parts;
  return async function handle(message) {
    const started = performance.now();
    const line: Record<string, unknown> = {
      event: 'message',
      id: message.id,
      size: message.raw.length,
      rcpts: message.envelope.rcptTo.length,
      client: message.client.address,
    };
    const finish = (reply: SmtpReply, extra: Record<string, unknown>) => {
      const total = performance.now() - started;
      logger.info({ ...line, ...extra, reply: reply.code, ms: Math.round(total) }, 'message outcome');
      const outcome = reply.code >= 400 && reply.code < 500 ? 'tempfail' : extra.verdict === 'deliver' && reply.code >= 500 ? 'refused' : String(extra.verdict);
      parts.metrics?.message({ verdict: outcome, rules: (extra.rules as string[] | undefined) ?? [], seconds: total / 1000, wouldHaveBeen: extra.wouldHaveBeen as string | undefined });
      return reply;
    };

    let verdict: Verdict;
    const t0 = performance.now();
    try {
      verdict = await deadline(inspector(message), parts.inspectTimeoutMs);
    } catch (err) {
      logger.error({ event: 'inspect-failed', id: message.id, err: (err as Error).message }, 'inspection failed; upstream will retry');
      return finish({ code: 451, text: `4.3.0 Message could not be checked, try again later (ref ${message.id})` }, { verdict: 'tempfail', inspectMs: ms(t0) });
    }
    const decided = { verdict: verdict.action, rules: verdict.rules, inspectMs: ms(t0), ...(verdict.wouldHaveBeen ? { wouldHaveBeen: verdict.wouldHaveBeen } : {}) };

    if (verdict.action !== 'deliver') {
      // Quarantine and block are stored (raw bytes, verdict, incident, notices) in one transaction
      // before the upstream hears anything; a store failure is a 451 and the upstream retries.
      const smtpReject = verdict.action === 'block' && parts.blockMode?.(message) === 'reject';
      const t1 = performance.now();
      let reference: string;
      try {
        if (!parts.hold) throw new Error('no quarantine store');
        ({ reference } = await parts.hold(message, verdict, { smtpReject }));
      } catch (err) {
        logger.error({ event: 'hold-failed', id: message.id, err: (err as Error).message }, 'could not store the held message; upstream will retry');
        return finish({ code: 451, text: `4.3.0 Temporary problem in the gateway, try again later (ref ${message.id})` }, { ...decided, holdMs: ms(t1), held: false });
      }
      const extra = { ...decided, holdMs: ms(t1), held: true, reference };
      if (smtpReject) {
        // The reply names the rule and the reference, never the personal data: the sender's own
        // server returns it to the sender.
        return finish({ code: 550, text: `5.7.1 Not sent: it breaks the school's rule ${verdict.rules[0] ?? 'policy'} (ref ${reference})` }, extra);
      }
      return finish({ code: 250, text: verdict.action === 'quarantine' ? `2.0.0 Ok: held for review as ${reference}` : `2.0.0 Ok: not delivered, recorded as ${reference}` }, extra);
    }

    const t1 = performance.now();
    const result = await deliverer.deliver(message.envelope, [traceHeader(message, parts.hostname), message.raw]);
    if (!result.ok) {
      parts.metrics?.nextHopFailures.inc({ kind: result.kind });
      if (result.code >= 500) logger.warn({ event: 'next-hop-refused', id: message.id, detail: result.detail }, 'next hop refused the message');
      else logger.warn({ event: 'next-hop-deferred', id: message.id, detail: result.detail }, 'next hop unavailable; upstream will retry');
      return finish({ code: result.code, text: `${result.enhanced} ${result.reason} (ref ${message.id})` }, { ...decided, deliverMs: ms(t1), delivered: false });
    }
    if (result.refused.length) {
      // Only permanent refusals reach here (a partly deferred message is abandoned and retried
      // whole). The school's server hears 250, so the sender is told by a bounce from us.
      logger.warn({ event: 'recipients-refused', id: message.id, refused: result.refused.length, codes: result.refused.map((r) => r.code) }, 'next hop refused some recipients');
      const told = result.refused.filter((r) => wantsFailureNotice(message.envelope, r.address));
      if (message.envelope.mailFrom && told.length) {
        // The message itself is delivered: whatever happens to the bounce, the answer is 250
        // (a 451 now would make the school's server send it again to everyone).
        try {
          const bounce = composeBounce({ hostname: parts.hostname, envelope: message.envelope, refused: told, raw: message.raw, messageId: message.id });
          const sent = await deliverer.deliver({ mailFrom: '', mailFromParams: {}, rcptTo: [{ address: message.envelope.mailFrom }] }, [bounce]);
          if (!sent.ok) logger.error({ event: 'bounce-failed', id: message.id, detail: sent.detail }, 'could not tell the sender about refused recipients');
        } catch (err) {
          logger.error({ event: 'bounce-failed', id: message.id, err: (err as Error).message }, 'could not tell the sender about refused recipients');
        }
      }
    }
    return finish({ code: 250, text: `2.0.0 Ok: delivered as ${message.id}` }, { ...decided, deliverMs: ms(t1), delivered: true, refused: result.refused.length });
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
