// `serve --workers N` (relay.workers): N relay processes sharing the listening socket, as
// Haraka's `nodes` setting does. The primary process relays nothing itself: it forks the workers
// (node:cluster; each re-runs the same `serve` command line), replaces one that dies, serves
// /health and /metrics for all of them (asking each over the cluster's IPC channel), and stops
// them all on SIGTERM/SIGINT. Each worker is a whole gateway (src/gateway.ts) with its own
// inspection threads and roster watch, on the one shared store; worker 0, the lead, also runs the
// outbox worker, retention and the console, so there is one of each however many workers run.
//
// The port is shared with SO_REUSEPORT where the platform has it (Linux): each worker listens on
// its own socket and the kernel spreads new connections among them, with nothing in between (see
// reusePortWanted for the other ways). A worker that dies takes only the sessions it was serving
// and the connections waiting in its own socket's queue (their clients see the connection drop or
// reset before any 250, and retry); the others keep listening throughout.
import cluster, { type Worker } from 'node:cluster';
import net from 'node:net';
import { autoWorkers, MAX_WORKERS, type Config } from './config/index.ts';
import { formatHostPort, type HostPort } from './config/net.ts';
import { createLogger } from './logging.ts';
import { EXAMINATION_FACTOR } from './receive/memory-budget.ts';
import type { GatewayOptions } from './gateway.ts';
import { startHealthServer, type HealthServer } from './review/health.ts';
import { Metrics, mergeExpositions } from './review/metrics.ts';

/** `--workers`: a whole number, or auto; undefined when it is not a valid one. */
export function parseWorkers(v: string): number | undefined {
  if (v === 'auto') return autoWorkers();
  const n = Number(v);
  return /^\d+$/.test(v) && n >= 1 && n <= MAX_WORKERS ? n : undefined;
}

/** Messages between the primary and a worker (plain objects over the cluster's IPC channel). */
type ToWorker = { hm: 'ask'; id: number; what: 'status' | 'metrics' } | { hm: 'kick' } | { hm: 'stop' };
type FromWorker = { hm: 'ready'; listen: HostPort } | { hm: 'reply'; id: number; value: unknown } | { hm: 'kick' };

const RANK_ENV = 'HALLMONITOR_WORKER_RANK';
const COUNT_ENV = 'HALLMONITOR_WORKER_COUNT';
/** The relay port every worker binds with SO_REUSEPORT (set when it does). */
const PORT_ENV = 'HALLMONITOR_WORKER_PORT';

/**
 * How the workers share the port. Where the platform has SO_REUSEPORT (Linux) each worker opens its
 * own socket on the port and the kernel spreads new connections among them: nothing in between.
 * Elsewhere, or when NODE_CLUSTER_SCHED_POLICY asks for one of node:cluster's ways (rr: the primary
 * accepts and hands each connection to the next worker; none: the workers accept from one shared
 * socket), node:cluster shares it. Measured on 2 cores (bench/workers/RESULTS.md): the primary's
 * round robin made 2 workers slower than 1 there.
 */
function reusePortWanted(): boolean {
  return process.platform === 'linux' && !process.env.NODE_CLUSTER_SCHED_POLICY;
}

/**
 * With SO_REUSEPORT a second gateway on the same port (same user) would join the first's sockets
 * without a word: open the port alone first, as one process would, so a port in use fails here;
 * port 0 becomes the free port every worker then binds.
 */
async function claimPort(listen: HostPort): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen({ port: listen.port, host: listen.host, exclusive: true }, () => resolve());
  });
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  return port;
}

/**
 * Runs the gateway as `count` workers: the primary's part in the primary process, a worker's in
 * each forked one. `mapError` turns a start-up error into what the CLI says (a busy port).
 */
export async function serveWorkers(config: Config, count: number, gatewayOptions: GatewayOptions, mapError: (err: Error) => Error): Promise<void> {
  if (cluster.isPrimary) return runPrimary(config, count, mapError);
  return runWorker(config, gatewayOptions, mapError);
}

/**
 * The limits in the configuration are the whole gateway's: each of `count` workers enforces its
 * share. The round robin spreads a client's connections evenly, so per-client counts split the
 * same way: the gateway-wide effect is the configured value (rounded up to a multiple of `count`).
 * AUTH lock-outs are counted per worker, so they too take each worker's share of the failures.
 */
export function shareLimits(config: Config, count: number): void {
  const share = (n: number) => Math.max(1, Math.ceil(n / count));
  const r = config.relay;
  config.limits.memoryMb = Math.max(64, Math.floor(config.limits.memoryMb / count));
  r.maxClients = share(r.maxClients);
  r.reservedForAllowed = Math.min(r.maxClients - 1, Math.ceil(r.reservedForAllowed / count));
  r.maxConnectionsPerClient = share(r.maxConnectionsPerClient);
  if (r.maxConnectionsPerMinute > 0) r.maxConnectionsPerMinute = share(r.maxConnectionsPerMinute);
  r.auth.maxFailures = share(r.auth.maxFailures);
}

/**
 * Each worker admits one message on its own whatever its size (a message alone is never refused
 * for memory), beyond its share of limits.memory_mb; with several workers those can happen at
 * once. Says so, with the figure to plan for, when the worst case is above limits.memory_mb: the
 * IT lead sets the service's memory limit (MemoryMax) from it.
 */
export function memoryCeilingWarning(config: Config, count: number): string | undefined {
  if (count <= 1) return undefined;
  const mb = (bytes: number) => Math.ceil(bytes / (1024 * 1024));
  const share = Math.max(64, Math.floor(config.limits.memoryMb / count));
  const alone = mb(EXAMINATION_FACTOR * config.relay.maxMessageBytes);
  const worst = count * Math.max(share, alone);
  if (worst <= config.limits.memoryMb) return undefined;
  return `with ${count} relay workers, each may examine one message of up to relay.max_message_bytes (${mb(config.relay.maxMessageBytes)} MB, about ${alone} MB to examine) on its own, beyond its share of limits.memory_mb (${share} of ${config.limits.memoryMb} MB): at worst about ${worst} MB at once. Plan the service's memory (MemoryMax) for that, set limits.memory_mb to at least ${worst}, lower relay.max_message_bytes, or run fewer workers`;
}

async function runWorker(config: Config, gatewayOptions: GatewayOptions, mapError: (err: Error) => Error): Promise<void> {
  const rank = Number(process.env[RANK_ENV]);
  const reusePort = process.env[PORT_ENV] !== undefined;
  if (reusePort) config.listen = { ...config.listen, port: Number(process.env[PORT_ENV]) };
  const count = Number(process.env[COUNT_ENV]);
  shareLimits(config, count);
  const logger = createLogger(config, process.stdout, { worker: rank, pid: process.pid });
  const send = (m: FromWorker) => process.send?.(m, undefined, undefined, () => undefined); // a primary gone: this process is ending anyway
  const { startGateway } = await import('./gateway.ts');
  const gateway = await startGateway(config, {
    ...gatewayOptions,
    logger,
    worker: { rank, count, lead: rank === 0, kickLead: () => send({ hm: 'kick' }), reusePort },
  }).catch((err: Error) => {
    // The CLI says why and sets the exit code; leaving the cluster lets this process end with it
    // (the IPC channel would keep it open), and the primary ends the start the same way.
    cluster.worker?.disconnect();
    throw mapError(err);
  });
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void gateway.stop().then(resolve);
    };
    process.on('message', (m: ToWorker) => {
      if (m.hm === 'stop') stop();
      else if (m.hm === 'kick') gateway.outbox.kick();
      else if (m.hm === 'ask') {
        const answer = m.what === 'status'
          ? gateway.status().catch((err: Error) => ({ ok: false, problems: [`health check failed: ${err.message}`] }))
          : gateway.metrics.render().catch(() => '');
        void answer.then((value) => send({ hm: 'reply', id: m.id, value }));
      }
    });
    // Ctrl-C reaches every process of the terminal's group: each worker stops itself as one
    // gateway would. (systemd's KillMode=mixed signals only the primary, which tells the workers.)
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    send({ hm: 'ready', listen: gateway.receiver.address() });
  });
  // Leave the cluster on purpose: the primary does not replace a worker that stopped when told.
  cluster.worker?.disconnect();
  setTimeout(() => process.exit(0), 10_000).unref(); // only if something still holds the process open
}

/** Sends to a worker; `failed` runs if its channel is already closed (it died or is leaving). */
function send(w: Worker, m: ToWorker, failed: () => void = () => undefined): void {
  try {
    w.send(m, undefined, (err) => { if (err) failed(); });
  } catch {
    failed();
  }
}

interface Slot {
  rank: number;
  worker?: Worker;
  ready: boolean;
  startedAt: number;
  /** Quick deaths in a row (a worker that cannot start): the restart waits longer each time. */
  failures: number;
  restartTimer?: NodeJS.Timeout;
}

async function runPrimary(config: Config, count: number, mapError: (err: Error) => Error): Promise<void> {
  const logger = createLogger(config, process.stdout, { worker: 'primary', pid: process.pid });
  const memory = memoryCeilingWarning(config, count);
  if (memory) logger.warn({ event: 'memory-ceiling', workers: count }, memory);
  const slots: Slot[] = Array.from({ length: count }, (_, rank) => ({ rank, ready: false, startedAt: 0, failures: 0 }));
  const startedAt = new Date();
  let listen: HostPort | undefined;
  let stopping = false;
  let started = false;
  let restarts = 0;
  let nextAsk = 1;
  const asks = new Map<number, { pid: number; resolve: (v: unknown) => void }>();

  /** Asks every running worker, at most `ms` each; a worker that does not answer gives undefined. */
  const askAll = (what: 'status' | 'metrics', ms = 5_000) => Promise.all(slots.map((s) => {
    const w = s.worker;
    if (!w || !s.ready) return undefined;
    return new Promise<unknown>((resolve) => {
      const id = nextAsk++;
      const timer = setTimeout(() => done(undefined), ms);
      const done = (v: unknown) => {
        clearTimeout(timer);
        asks.delete(id);
        resolve(v);
      };
      asks.set(id, { pid: w.process.pid!, resolve: done });
      // A worker that has just died (its exit not yet seen) cannot be sent to: no answer from it.
      send(w, { hm: 'ask', id, what }, () => done(undefined));
    });
  }));

  const fork = (slot: Slot): Promise<void> => new Promise((resolve, reject) => {
    slot.ready = false;
    slot.startedAt = Date.now();
    const w = cluster.fork({ [RANK_ENV]: String(slot.rank), [COUNT_ENV]: String(count), ...(port !== undefined ? { [PORT_ENV]: String(port) } : {}) });
    slot.worker = w;
    // A message to a worker that died a moment ago fails here, not as an uncaught error (its exit follows).
    w.on('error', (err) => logger.debug({ event: 'worker-ipc-error', rank: slot.rank, err: err.message }, 'could not reach a relay worker'));
    w.on('message', (m: FromWorker) => {
      if (m.hm === 'ready') {
        slot.ready = true;
        listen ??= m.listen;
        if (stopping) send(w, { hm: 'stop' }); // told while it was still starting
        resolve();
      } else if (m.hm === 'reply') asks.get(m.id)?.resolve(m.value);
      else if (m.hm === 'kick') {
        const lead = slots[0].worker;
        if (lead && slots[0].ready) send(lead, { hm: 'kick' });
      }
    });
    w.on('exit', (code, signal) => {
      const wasReady = slot.ready;
      if (slot.worker === w) {
        slot.worker = undefined;
        slot.ready = false;
      }
      for (const a of [...asks.values()]) if (a.pid === w.process.pid) a.resolve(undefined);
      if (!wasReady) reject(Object.assign(new Error(`relay worker ${slot.rank} stopped before it was ready (${signal ?? `exit ${code}`})`), { exitCode: code ?? 1 }));
      // A worker that never became ready ends the start; one that was ready is replaced, even while
      // the others are still starting (else a lead lost then would leave no outbox for good).
      if (stopping || (!started && !wasReady)) return;
      const lived = Date.now() - slot.startedAt;
      slot.failures = lived < 10_000 ? slot.failures + 1 : 0;
      // At least half a second: a Ctrl-C reaches the workers and the primary together, and a worker
      // that stopped for it must not be replaced before the primary's own signal says stop.
      const delay = Math.max(500, slot.failures ? Math.min(30_000, 250 * 2 ** slot.failures) : 0);
      slot.restartTimer = setTimeout(() => {
        slot.restartTimer = undefined;
        if (stopping) return;
        logger.error({ event: 'worker-exited', rank: slot.rank, workerPid: w.process.pid, code, signal }, 'a relay worker stopped; starting another in its place (its clients retry the messages it had not answered)');
        restarts++;
        metrics.workerRestarts.inc();
        fork(slot).then(
          () => logger.info({ event: 'worker-replaced', rank: slot.rank, workerPid: slot.worker?.process.pid }, 'relay worker replaced'),
          () => undefined, // its exit was logged and schedules the next try
        );
      }, delay);
    });
  });

  // A stop has a deadline: time for a message still arriving and then its examination and
  // delivery (twice relay.data_timeout_seconds) and a margin; a worker still there after it is
  // killed. Its clients never heard 250 for what it held, so their servers send it again.
  const everyWorkerGone = () => new Promise<void>((resolve) => {
    const deadline = Date.now() + (2 * config.relay.dataTimeoutSeconds + 15) * 1000;
    let killed = false;
    const check = () => {
      if (slots.every((s) => !s.worker)) return resolve();
      if (!killed && Date.now() > deadline) {
        killed = true;
        for (const s of slots) {
          if (!s.worker) continue;
          logger.error({ event: 'worker-killed', rank: s.rank, pid: s.worker.process.pid }, 'relay worker did not stop in time; killed');
          s.worker.process.kill('SIGKILL');
        }
      }
      setTimeout(check, 20);
    };
    check();
  });
  const stopWorkers = () => {
    stopping = true;
    for (const s of slots) {
      if (s.restartTimer) clearTimeout(s.restartTimer);
      const w = s.worker;
      if (w) send(w, { hm: 'stop' }, () => w.process.kill('SIGTERM'));
    }
  };
  let signalled!: () => void;
  const stopSignal = new Promise<void>((resolve) => (signalled = resolve));
  const onSignal = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    logger.info({ event: 'stopping', workers: count }, 'stopping: each relay worker finishes the messages in flight');
    stopWorkers();
    signalled();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let port: number | undefined;
  if (reusePortWanted()) {
    try {
      port = await claimPort(config.listen);
    } catch (err) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      throw mapError(err as Error);
    }
  }

  // /health and /metrics for the whole gateway, from every worker's answer.
  const metrics = new Metrics(); // the primary's own: its resident memory joins the workers'
  metrics.relayWorkers(() => slots.filter((s) => s.ready).length, count);
  let health: HealthServer | undefined;
  if (config.health.listen) {
    try {
      health = await startHealthServer(config.health.listen, {
        async status() {
          const answers = (await askAll('status')) as Array<(Record<string, unknown> & { ok: boolean; problems?: string[]; inFlight?: number }) | undefined>;
          const up = answers.filter((a) => a !== undefined);
          const problems = [...new Set(up.flatMap((a) => a.problems ?? []))];
          if (up.length < count) problems.push(`${up.length} of ${count} relay workers answering`);
          const first = up[0] ?? {};
          return {
            ok: problems.length === 0,
            ...(problems.length ? { problems } : {}),
            startedAt: startedAt.toISOString(),
            listen,
            inFlight: up.reduce((n, a) => n + (a.inFlight ?? 0), 0),
            nextHop: first.nextHop,
            store: first.store,
            outbox: answers[0]?.outbox ?? first.outbox,
            ...(first.detectors ? { detectors: first.detectors } : {}),
            workers: {
              wanted: count,
              running: up.length,
              restarts,
              each: slots.map((s, i) => {
                const a = answers[i];
                return a
                  ? { rank: s.rank, pid: s.worker?.process.pid ?? null, ok: a.ok, ...(a.problems ? { problems: a.problems } : {}), startedAt: a.startedAt, inFlight: a.inFlight, ...(a.worker as object), detectors: a.detectors }
                  : { rank: s.rank, pid: s.worker?.process.pid ?? null, ok: false, problems: ['not answering (starting, stopping or replaced)'] };
              }),
            },
          };
        },
      }, { render: async () => mergeExpositions([await metrics.render(), ...((await askAll('metrics')) as Array<string | undefined>).filter((t) => t !== undefined)]) });
    } catch (err) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      throw mapError(err as Error);
    }
  }

  // The lead first (it prepares the store: migrations run once, not in N processes at once), then
  // the others together. A worker that cannot start stops the whole start, as one gateway would.
  try {
    await Promise.race([fork(slots[0]), stopSignal]);
    if (!stopping) await Promise.race([Promise.all(slots.slice(1).map(fork)), stopSignal]);
  } catch (err) {
    stopWorkers();
    await everyWorkerGone();
    await health?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    // The worker has said why on stderr; the primary exits as it did.
    process.exitCode = (err as { exitCode?: number }).exitCode ?? 1;
    logger.error({ event: 'start-failed', err: (err as Error).message }, 'Hallmonitor did not start');
    return;
  }
  started = true;
  if (!stopping) {
    logger.info({ event: 'started', workers: count, listen: listen && `${listen.host}:${listen.port}`, health: health?.address() }, `Hallmonitor is relaying with ${count} workers`);
    if (process.stderr.isTTY && listen) {
      process.stderr.write(`Hallmonitor is listening on ${formatHostPort(listen)} with ${count} relay workers` +
        (config.nextHop ? '' : `; mail is captured in ${config.dataDir}/captured`) + '. Ctrl-C stops it.\n');
    }
  }
  await stopSignal;
  await everyWorkerGone();
  await health?.close();
  logger.info({ event: 'stopped' }, 'stopped');
}
