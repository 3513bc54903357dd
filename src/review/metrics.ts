// Operational metrics in the Prometheus text format, served at /metrics on the health listener.
// Counts and timings only: no addresses, subjects or names ever become label values.
import { monitorEventLoopDelay } from 'node:perf_hooks';

type Labels = Record<string, string>;

/** One per process, from start-up: the event loop's lateness, sampled every 20 ms (perf_hooks). */
const LOOP_RESOLUTION_MS = 20;
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
loopDelay.enable();
/** perf_hooks records the whole interval between samples: lateness is what exceeds the resolution. */
const lateSeconds = (ns: number) => Math.max(0, (ns || 0) - LOOP_RESOLUTION_MS * 1e6) / 1e9;

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

class Counter {
  readonly values = new Map<string, number>();
  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
}

class Histogram {
  readonly series = new Map<string, { buckets: number[]; sum: number; count: number }>();
  observe(seconds: number, labels: Labels = {}): void {
    const k = key(labels);
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { buckets: new Array(BUCKETS.length).fill(0), sum: 0, count: 0 }));
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]) s.buckets[i]++;
    s.sum += seconds;
    s.count++;
  }
}

function key(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k].replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',');
}

/** Gauges are read when scraped, from whoever knows the current value. */
export type GaugeSource = () => Promise<Array<{ labels?: Labels; value: number }>> | Array<{ labels?: Labels; value: number }>;

export class Metrics {
  readonly messages = new Counter();
  readonly ruleHits = new Counter();
  readonly duration = new Histogram();
  readonly nextHopFailures = new Counter();
  readonly wouldHave = new Counter();
  readonly authFailures = new Counter();
  readonly authLockouts = new Counter();
  readonly memoryRefusals = new Counter();
  /** Under `serve --workers`, counted by the primary. */
  readonly workerRestarts = new Counter();
  private readonly gauges = new Map<string, { help: string; source: GaugeSource }>();
  private readonly counted = new Map<string, { help: string; source: GaugeSource }>();

  /** Records one message outcome from the pipeline. */
  message(outcome: { verdict: string; rules: string[]; seconds: number; wouldHaveBeen?: string }): void {
    this.messages.inc({ verdict: outcome.verdict });
    if (outcome.wouldHaveBeen) this.wouldHave.inc({ action: outcome.wouldHaveBeen });
    for (const rule of outcome.rules) this.ruleHits.inc({ rule });
    this.duration.observe(outcome.seconds, { verdict: outcome.verdict });
  }

  /** How many relay processes run and were asked for (`relay.workers`): one for a single process. */
  relayWorkers(running: () => number, wanted: number): void {
    this.gauge('hallmonitor_relay_workers', 'Relay worker processes running and answering (serve --workers).', () => [{ value: running() }]);
    this.gauge('hallmonitor_relay_workers_wanted', 'Relay worker processes configured (serve --workers, relay.workers).', () => [{ value: wanted }]);
    this.workerRestarts.inc({}, 0);
  }

  gauge(name: string, help: string, source: GaugeSource): void {
    this.gauges.set(name, { help, source });
  }

  /** A counter kept elsewhere (text recognition's, in the inspection stage), read when scraped. */
  counterFrom(name: string, help: string, source: GaugeSource): void {
    this.counted.set(name, { help, source });
  }

  async render(): Promise<string> {
    const out: string[] = [];
    const counter = (name: string, help: string, c: Counter) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
      for (const [k, v] of c.values) out.push(`${name}${k ? `{${k}}` : ''} ${v}`);
    };
    counter('hallmonitor_messages_total', 'Messages by outcome (deliver, quarantine, block, tempfail, refused).', this.messages);
    counter('hallmonitor_rule_hits_total', 'Rules that fired, by rule id.', this.ruleHits);
    counter('hallmonitor_next_hop_failures_total', 'Deliveries the next hop deferred or refused, by kind.', this.nextHopFailures);
    counter('hallmonitor_monitor_would_have_total', 'Messages delivered in monitor mode that enforce mode would have held or blocked.', this.wouldHave);
    counter('hallmonitor_auth_failures_total', 'Relay AUTH attempts refused, by reason (auth_failed: wrong credentials; auth_locked_out: refused during a lock-out).', this.authFailures);
    counter('hallmonitor_auth_lockouts_total', 'Lock-outs of a client address or user name after repeated AUTH failures.', this.authLockouts);
    counter('hallmonitor_memory_refusals_total', 'Messages refused with 4.3.1 because the memory budget (limits.memory_mb) was full: 451 after waiting to be checked, or 421 while a large one was still arriving.', this.memoryRefusals);
    counter('hallmonitor_relay_worker_restarts_total', 'Relay workers started in place of one that stopped.', this.workerRestarts);
    out.push('# HELP hallmonitor_message_duration_seconds Time from end of DATA to the reply, by outcome.', '# TYPE hallmonitor_message_duration_seconds histogram');
    for (const [k, s] of this.duration.series) {
      const pre = k ? `${k},` : '';
      BUCKETS.forEach((b, i) => out.push(`hallmonitor_message_duration_seconds_bucket{${pre}le="${b}"} ${s.buckets[i]}`));
      out.push(`hallmonitor_message_duration_seconds_bucket{${pre}le="+Inf"} ${s.count}`);
      out.push(`hallmonitor_message_duration_seconds_sum${k ? `{${k}}` : ''} ${s.sum}`);
      out.push(`hallmonitor_message_duration_seconds_count${k ? `{${k}}` : ''} ${s.count}`);
    }
    for (const [name, g] of [...this.counted.entries(), ...this.gauges.entries()]) {
      out.push(`# HELP ${name} ${g.help}`, `# TYPE ${name} ${this.counted.has(name) ? 'counter' : 'gauge'}`);
      try {
        for (const { labels, value } of await g.source()) out.push(`${name}${labels ? `{${key(labels)}}` : ''} ${value}`);
      } catch {
        // A gauge whose source fails is left out of this scrape rather than failing it.
      }
    }
    // How late the event loop ran its timers since the previous scrape: a gateway too busy to answer promptly shows here first.
    out.push('# HELP hallmonitor_event_loop_delay_seconds How late this process\'s event loop ran since the previous scrape (its 99th percentile): replies wait as long as this.', '# TYPE hallmonitor_event_loop_delay_seconds gauge', `hallmonitor_event_loop_delay_seconds ${lateSeconds(loopDelay.percentile(99))}`);
    out.push('# HELP hallmonitor_event_loop_delay_max_seconds How late this process\'s event loop ran since the previous scrape, at the worst.', '# TYPE hallmonitor_event_loop_delay_max_seconds gauge', `hallmonitor_event_loop_delay_max_seconds ${lateSeconds(loopDelay.max)}`);
    loopDelay.reset();
    const mem = process.memoryUsage();
    out.push('# HELP hallmonitor_process_resident_memory_bytes Resident memory of this gateway process.', '# TYPE hallmonitor_process_resident_memory_bytes gauge', `hallmonitor_process_resident_memory_bytes ${mem.rss}`);
    return out.join('\n') + '\n';
  }
}

/** How one gauge's values from several relay processes become the gateway's one value (default: the first's). */
const GAUGE_MERGE: Record<string, 'sum' | 'min' | 'max'> = {
  hallmonitor_event_loop_delay_seconds: 'max',
  hallmonitor_event_loop_delay_max_seconds: 'max',
  hallmonitor_inflight_messages: 'sum',
  hallmonitor_memory_reserved_bytes: 'sum',
  hallmonitor_process_resident_memory_bytes: 'sum',
  hallmonitor_store_writable: 'min',
  hallmonitor_store_probe_seconds: 'max',
  // The least up-to-date worker speaks for the gateway: a roster one of them has not reloaded shows.
  hallmonitor_roster_pupils: 'min',
  hallmonitor_roster_loaded_timestamp_seconds: 'min',
};

/**
 * Several processes' /metrics pages (`serve --workers`) as one: counters and histograms are
 * added up series by series; gauges per GAUGE_MERGE (shared-store gauges, which every process
 * reads from the same database, and certificate expiry are taken from the first).
 */
export function mergeExpositions(texts: string[]): string {
  type Family = { help?: string; type: string; samples: Map<string, number> };
  const families = new Map<string, Family>();
  for (const text of texts) {
    let family: string | undefined;
    for (const line of text.split('\n')) {
      if (!line) continue;
      const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
      if (meta) {
        family = meta[2];
        const f: Family = families.get(family) ?? { type: 'untyped', samples: new Map() };
        families.set(family, f);
        if (meta[1] === 'HELP') f.help ??= meta[3];
        else f.type = meta[3];
        continue;
      }
      const sample = /^(\S+?(?:\{.*\})?) (\S+)$/.exec(line);
      const f = family && families.get(family);
      if (!sample || !f) continue;
      const value = Number(sample[2]);
      const seen = f.samples.get(sample[1]);
      const rule = f.type === 'counter' || f.type === 'histogram' ? 'sum' : GAUGE_MERGE[family!];
      f.samples.set(sample[1], seen === undefined ? value
        : rule === 'sum' ? seen + value : rule === 'min' ? Math.min(seen, value) : rule === 'max' ? Math.max(seen, value) : seen);
    }
  }
  const out: string[] = [];
  for (const [name, f] of families) {
    if (f.help !== undefined) out.push(`# HELP ${name} ${f.help}`);
    out.push(`# TYPE ${name} ${f.type}`);
    for (const [series, value] of f.samples) out.push(`${series} ${value}`);
  }
  return out.join('\n') + '\n';
}
