// Assembles a running gateway from a validated configuration: the receive stage, the pipeline,
// the next hop (or the embedded capture sink), the health endpoint, and the quarantine store with
// its outbox worker (notices, releases) and retention job.
import { wordPassEngine, wordPassFallbackReason } from './roster/word-pass.ts';
import type { Logger } from 'pino';
import { configDir, type Config } from './config/index.ts';
import { createLogger } from './logging.ts';
import { certificatesInUse, daysLeft, expiryWarnings } from './config/certificates.ts';
import { createDeliverer, type Deliverer } from './act/deliver.ts';
import { startCaptureSink, type CaptureSink } from './act/capture.ts';
import { startReceiver, type Receiver } from './receive/index.ts';
import { createPipeline } from './pipeline.ts';
import { startHealthServer, type HealthServer } from './review/health.ts';
import { Metrics } from './review/metrics.ts';
import type { Inspector, SchoolRoute } from './types.ts';
import { loadPolicy, type PolicyOverrides } from './decide/policy.ts';
import type { Examiner } from './examine.ts';
import { loadTenants, TenantDirectory } from './tenants.ts';
import { loadTrustRosters } from './roster/trust.ts';
import { openStore, probeStore, type Store, type StoreProbe } from './store/index.ts';
import { startRetention } from './store/retention.ts';
import { holdMessage } from './act/hold.ts';
import { noticeDirectory, schoolsWithoutBusinessManager } from './act/notify/schools.ts';
import { createOutboxWorker, startOutboxWorker, type OutboxWorker, type OutboxWorkerOptions } from './act/notify/worker.ts';
import { enqueueBounce } from './store/bounces.ts';
import { consoleSettings } from './review/console/settings.ts';
import type { ConsoleServer } from './review/console/index.ts';
import type { OcrStats } from './inspect/index.ts';

export interface Gateway {
  config: Config;
  receiver: Receiver;
  deliverer: Deliverer;
  capture?: CaptureSink;
  health?: HealthServer;
  logger: Logger;
  metrics: Metrics;
  store: Store;
  outbox: OutboxWorker;
  /** The business manager's console, when console.listen (or `serve --console`) is set. */
  console?: ConsoleServer;
  /** What /health says about this gateway (served by the health listener, or asked for by the primary under `serve --workers`). */
  status(): Promise<Record<string, unknown> & { ok: boolean }>;
  stop(): Promise<void>;
}

/** This process's part under `serve --workers` (src/workers.ts). */
export interface WorkerRole {
  rank: number;
  count: number;
  /** The lead worker runs the outbox worker, retention and the console: one of each for the whole gateway. */
  lead: boolean;
  /** Asks the lead's outbox worker to look for due rows now (a hold here queued notices). */
  kickLead(): void;
  /** Listen with SO_REUSEPORT (each worker its own socket on the port) rather than through the cluster's primary. */
  reusePort?: boolean;
}

export interface GatewayOptions {
  logger?: Logger;
  /** The inspection seam; by default the school's policy (inspect → detect → decide). */
  inspector?: Inspector;
  /** `serve --roster/--school-domain`. */
  policyOverrides?: PolicyOverrides;
  /** Outbox worker tuning (tests use short intervals). */
  outbox?: Pick<OutboxWorkerOptions, 'pollMs' | 'retryBaseMs' | 'maxRetryMs' | 'leaseMs' | 'now'>;
  /** How often retention runs (default hourly; it also runs at start-up). */
  retentionEveryMs?: number;
  /**
   * One of several relay processes (`serve --workers`): no health listener of its own (the primary
   * serves /health and /metrics from every worker's), and only the lead runs the outbox worker,
   * retention and the console.
   */
  worker?: WorkerRole;
}

export async function startGateway(config: Config, opts: GatewayOptions = {}): Promise<Gateway> {
  const logger = opts.logger ?? createLogger(config);
  // Schools, policies and rosters are validated before anything opens or listens: a bad policy
  // or an unreadable roster refuses to start.
  const specs = loadTenants(config);
  if (specs.length === 1 && !config.tenants && opts.policyOverrides?.schoolDomains?.length) specs[0].domains = opts.policyOverrides.schoolDomains.map((d) => d.toLowerCase());
  const directory = new TenantDirectory(specs);
  // Notification settings and templates, every school's: a bad address or a broken template stops
  // start-up before any worker starts.
  const notices = noticeDirectory(config, directory.tenants);
  const { settings: notify, templates } = notices.trust;
  const worker = opts.worker;
  const lead = !worker || worker.lead;
  const consoleWanted = lead && consoleSettings(config).listen !== null;
  // What is the same for every relay worker is said once, by the lead.
  if (lead) for (const w of schoolsWithoutBusinessManager(notices, directory.single)) logger.warn({ event: 'no-business-manager', tenant: w.tenant }, w.text);
  // The certificates in use, parsed once: days left are in /metrics, a short time is said now.
  const certificates = certificatesInUse(config);
  for (const w of expiryWarnings(certificates)) {
    logger[w.expired ? 'error' : 'warn']({ event: 'certificate-expiry', certificate: w.cert.use, daysLeft: w.days }, w.text);
  }
  const examiners = new Map<string, Examiner>();
  let stopTrustWatch: (() => void) | undefined;
  let ocrStats: (() => OcrStats) | undefined;
  if (!opts.inspector) {
    // Text recognition as configured, or off (said once, here) when Tesseract or a helper is missing.
    const inspection = await import('./inspect/index.ts');
    const available = inspection.ocrAsAvailable(config.ocr ?? inspection.OCR_OFF);
    const ocr = available.limits;
    ocrStats = inspection.ocrStats;
    if (available.off) logger.warn({ event: 'ocr-off', reason: available.off }, `text recognition (OCR) of scanned documents is off: ${available.off}; pictures are not read and image-only PDFs are held as uninspectable`);
    const { createExaminer } = await import('./examine.ts');
    const baseDir = configDir(config);
    try {
      const trust = await loadTrustRosters(directory, baseDir);
      for (const t of directory.tenants) {
        const policy = loadPolicy(t.config, directory.single ? opts.policyOverrides : undefined, baseDir);
        // A school that turned text recognition off (tenants[].inspection.ocr) has it off.
        const schoolOcr = t.config.ocr?.enabled === false ? { ...ocr, enabled: false } : ocr;
        examiners.set(t.id, await createExaminer({ policy, watch: true, logger, roster: t.trustRoster ? trust?.rosterFor(t.id) : undefined, limits: { ocr: schoolOcr } }));
      }
      stopTrustWatch = trust?.watch(
        (next) => { for (const t of directory.tenants) if (t.trustRoster) examiners.get(t.id)?.replaceRoster(next.rosterFor(t.id)); },
        (err) => logger.error({ event: 'roster-reload-failed', err: err.message }, 'new trust roster not used; the previous one stays in force'),
      );
    } catch (err) {
      for (const ex of examiners.values()) await ex.close();
      throw err;
    }
    // Start the extraction workers, the PDF reader and (OCR on) the tools' helper now, not on the first attachment.
    const warm = await inspection.warmUpInspection({ ocr });
    if (!warm.ocrTools) logger.warn({ event: 'ocr-tools-unavailable' }, 'the helper process that starts the inspection tools could not run one: pictures, scanned pages and 7z, RAR, gzip or tar archives will count as unread (held when the mail leaves the school) until it can');
  }
  // Each school as its messages' journey needs it, resolved once per message by the receive stage:
  // its examiner, and what a block does there (policy.block_mode).
  const routes = new Map<string, SchoolRoute>(directory.tenants.map((t) => {
    const ex = examiners.get(t.id);
    const examine: Inspector = opts.inspector ?? (async (message) => {
      if (!ex) throw new Error(`no policy for school ${t.id}`); // answered 451, never delivered unchecked
      return (await ex.examine(message.raw, message.envelope)).verdict;
    });
    return [t.id, { id: t.id, examine, blockMode: (notices.school(t.id)?.settings ?? notify).blockMode }];
  }));
  /** One line for health pages: pupils across every school, the oldest load, the first problem. */
  const rosterSummary = () => {
    if (!examiners.size) return undefined;
    const all = [...examiners.values()].map((ex) => ex.status());
    return {
      pupils: all.reduce((n, x) => n + x.pupils, 0),
      rosterLoadedAt: all.map((x) => x.rosterLoadedAt).filter(Boolean).sort()[0],
      rosterError: all.find((x) => x.rosterError)?.rosterError,
      detectorsVersion: all[0].detectorsVersion,
    };
  };
  const closeExaminers = async () => {
    stopTrustWatch?.();
    for (const ex of examiners.values()) await ex.close();
  };
  let store: Store;
  try {
    store = await openStore(config);
  } catch (err) {
    await closeExaminers(); // an unreachable database: nothing may be left running
    throw err;
  }
  if (lead) logger.info({ event: 'store-open', kind: store.kind, location: store.location }, 'quarantine store ready');
  let capture: CaptureSink | undefined;
  let nextHop = config.nextHop;
  if (!nextHop) {
    capture = await startCaptureSink(config.dataDir, { worker: !!worker });
    nextHop = { host: capture.host, port: capture.port, starttls: 'off', secure: false, rejectUnauthorized: true, timeoutSeconds: 30 };
    if (lead) logger.info({ event: 'capture-mode', dir: capture.dir }, 'no next hop configured: delivering to the local capture folder (try-it-out mode)');
  }
  const deliverer = createDeliverer(nextHop, { hostname: config.hostname });
  const metrics = new Metrics();
  if (ocrStats) countOcr(metrics, ocrStats);
  const outboxOptions: OutboxWorkerOptions = {
    store, deliverer, settings: notify, templates, schoolFor: notices.school, hostname: config.hostname, checkedSecret: config.relay.checkedHeaderSecret, dkim: config.dkim, logger,
    retryBaseMs: store.settings.outboxRetrySeconds * 1000, leaseMs: store.settings.outboxLeaseSeconds * 1000, ...opts.outbox,
    // A file name in a notice is masked only where the school's own detectors find personal data in it.
    redactFor: (t: string) => {
      const ex = examiners.get(t) ?? (directory.single ? [...examiners.values()][0] : undefined);
      return ex ? (text: string) => ex.redact(text) : undefined;
    },
  };
  // One outbox worker for the whole gateway: another relay process's hold asks the lead to look now.
  const outbox: OutboxWorker = lead ? startOutboxWorker(outboxOptions) : { ...createOutboxWorker(outboxOptions), kick: () => worker!.kickLead() };
  // Each school's own business manager and safeguarding lead are told about its held mail.
  const holdContext = {
    store, notify, notifyFor: (t: string) => notices.school(t)?.settings, hostname: config.hostname, onQueued: () => outbox.kick(),
    // A reviewer's reason reaches the sender redacted with the school's own detectors.
    redactNote: (text: string, tenant: string) => (examiners.get(tenant) ?? (directory.single ? [...examiners.values()][0] : undefined))?.redact(text),
  };
  const journey = createPipeline({
    hostname: config.hostname, deliverer, logger, metrics, inspectTimeoutMs: config.relay.dataTimeoutSeconds * 1000, checkedSecret: config.relay.checkedHeaderSecret, dkim: config.dkim,
    hold: (message, verdict, o) => holdMessage(holdContext, message, verdict, o),
    bounce: async (recipient, raw) => {
      await enqueueBounce(store.db, recipient, raw, new Date());
      outbox.kick();
    },
  });
  const retention = lead ? startRetention(store, {
    everyMs: opts.retentionEveryMs,
    onResult: (r) => { if (r.messagesPurged || r.incidentsDeleted) logger.info({ event: 'retention', ...r }, 'retention purged old quarantine data'); },
    onError: (e) => logger.error({ event: 'retention-failed', err: e.message }, 'retention run failed; will retry'),
  }) : undefined;
  /** Everything behind the SMTP listener, in reverse order of starting. */
  const closeBackEnd = async () => {
    await outbox.stop();
    await retention?.stop();
    deliverer.close();
    await capture?.close();
    await store.close();
    await closeExaminers();
  };
  let receiver: Receiver;
  try {
    receiver = await startReceiver(config, journey, logger, {
      checksSenders: directory.checksSenders,
      resolve: (sender, user) => {
        const t = directory.checksSenders ? directory.resolve(sender, user) : directory.tenants[0];
        return t ? routes.get(t.id) : undefined;
      },
    }, { metrics, reusePort: worker?.reusePort });
  } catch (err) {
    await closeBackEnd();
    throw err;
  }
  const startedAt = new Date();
  // Health tells the truth about the store: a real write and read, as a hold would make.
  const instance = `${config.hostname} ${process.pid}`;
  let lastStoreProbe: StoreProbe | undefined;
  const outboxBacklog = async () => {
    const row = await store.db.selectFrom('outbox').select((eb) => eb.fn.countAll().as('n')).where('status', 'in', ['pending', 'sending']).executeTakeFirst();
    return Number(row?.n ?? 0);
  };
  metrics.gauge('hallmonitor_tls_certificate_expiry_days', 'Days until the TLS certificate in use expires (negative once it has), by use: relay (served to the school\'s mail system) or next_hop_client (presented to the next hop).', () =>
    certificates.map((c) => ({ labels: { certificate: c.use }, value: Math.round(daysLeft(c) * 100) / 100 })));
  const status = async () => {
    const [hop, stored, backlog] = await Promise.all([deliverer.probe(), probeStore(store, instance), outboxBacklog()]);
    lastStoreProbe = stored;
    const problems = [...(hop.ok ? [] : [`next hop unreachable: ${hop.detail}`]), ...(stored.ok ? [] : [`quarantine store cannot be written: ${stored.error}`])];
    return {
      ok: problems.length === 0,
      ...(problems.length ? { problems } : {}),
      startedAt: startedAt.toISOString(),
      listen: receiver.address(),
      inFlight: receiver.inFlight(),
      ...(worker ? { worker: { rank: worker.rank, pid: process.pid, lead: worker.lead, sessions: receiver.sessions() } } : {}),
      nextHop: { reachable: hop.ok, detail: hop.detail, capture: !!capture },
      store: { kind: store.kind, writable: stored.ok, probeMs: stored.ms, ...(stored.error ? { error: stored.error } : {}) },
      outbox: { waiting: backlog },
      ...(examiners.size ? { detectors: Object.fromEntries([...examiners].map(([id, ex]) => [id, ex.status()])) } : {}),
    };
  };
  let health: HealthServer | undefined;
  if (config.health.listen && !worker) {
    try {
      health = await startHealthServer(config.health.listen, { status }, metrics);
    } catch (err) {
      // A busy health port: nothing may be left listening.
      await receiver.close();
      await closeBackEnd();
      throw err;
    }
  }
  // The gauges /metrics shows: a worker's are read by the primary, which serves /metrics for all.
  if (config.health.listen || worker) {
    if (!worker) metrics.relayWorkers(() => 1, 1); // one process (under --workers the primary says how many)
    metrics.gauge('hallmonitor_inflight_messages', 'Messages received and not yet answered.', () => [{ value: receiver.inFlight() }]);
    metrics.gauge('hallmonitor_store_writable', 'Whether a write to the quarantine store and its read back succeeded (1) or failed (0), probed at each scrape.', async () => {
      lastStoreProbe = await probeStore(store, instance);
      return [{ value: lastStoreProbe.ok ? 1 : 0 }];
    });
    metrics.gauge('hallmonitor_store_probe_seconds', 'Time of the last write-and-read probe of the quarantine store.', () =>
      lastStoreProbe ? [{ value: lastStoreProbe.ms / 1000 }] : []);
    // Shared-store gauges: every instance on one PostgreSQL reports the same values.
    metrics.gauge('hallmonitor_quarantine_held_messages', 'Messages held in quarantine awaiting review.', async () => {
      const row = await store.db.selectFrom('incidents').select((eb) => eb.fn.countAll().as('n')).where('status', '=', 'open').where('action', '=', 'quarantine').executeTakeFirst();
      return [{ value: Number(row?.n ?? 0) }];
    });
    metrics.gauge('hallmonitor_outbox_messages', 'Messages in the outbox waiting to be sent, by kind.', async () => {
      const rows = await store.db.selectFrom('outbox').select((eb) => ['job', eb.fn.countAll().as('n')]).where('status', 'in', ['pending', 'sending']).groupBy('job').execute();
      return rows.map((r) => ({ labels: { kind: r.job === 'release' ? 'release' : 'notification' }, value: Number(r.n) }));
    });
    // The roster of each school: how many pupils, and when it was loaded (age = time() - value).
    const perSchool = (id: string): Record<string, string> | undefined => (directory.single ? undefined : { school: id });
    metrics.gauge('hallmonitor_roster_pupils', 'Pupils in the roster currently loaded.', () =>
      [...examiners].map(([id, ex]) => ({ labels: perSchool(id), value: ex.status().pupils })));
    metrics.gauge('hallmonitor_roster_loaded_timestamp_seconds', 'Unix time the roster in use was loaded.', () =>
      [...examiners].flatMap(([id, ex]) => {
        const at = ex.status().rosterLoadedAt;
        return at ? [{ labels: perSchool(id), value: Math.round(Date.parse(at) / 1000) }] : [];
      }));
  }
  // The business manager's console, on its own port, sharing this gateway's store and hold context
  // (so a release it queues is delivered at once by this gateway's outbox worker).
  let consoleServer: ConsoleServer | undefined;
  if (consoleWanted) {
    try {
      const { startConsole } = await import('./review/console/index.ts');
      consoleServer = await startConsole(config, store, {
        logger,
        hold: holdContext,
        async status() {
          const [hop, stored] = await Promise.all([deliverer.probe(), probeStore(store, instance)]);
          const ex = rosterSummary();
          return {
            ok: hop.ok && stored.ok,
            store: { writable: stored.ok, probeMs: stored.ms, ...(stored.error ? { error: stored.error } : {}) },
            startedAt: startedAt.toISOString(),
            listen: receiver.address(),
            inFlight: receiver.inFlight(),
            nextHop: { host: nextHop.host, port: nextHop.port, reachable: hop.ok, detail: hop.detail, capture: !!capture },
            roster: ex ? { pupils: ex.pupils, loadedAt: ex.rosterLoadedAt ?? null, problem: ex.rosterError ?? null } : null,
            detectors: ex ? { version: ex.detectorsVersion } : null,
            // Every school's roster, for the System health page (a trust's IT sees which school's is stale or broken).
            schools: examiners.size ? directory.tenants.map((t) => {
              const st = examiners.get(t.id)?.status();
              return { id: t.id, name: t.name, pupils: st?.pupils ?? 0, loadedAt: st?.rosterLoadedAt ?? null, problem: st ? st.rosterError ?? null : 'no policy loaded' };
            }) : undefined,
          };
        },
      });
    } catch (err) {
      await receiver.close();
      await health?.close();
      await closeBackEnd();
      throw err;
    }
  }
  const a = receiver.address();
  if (wordPassEngine !== 'native') {
    const why = process.env.HALLMONITOR_WORD_PASS === 'javascript' ? 'is switched off (HALLMONITOR_WORD_PASS=javascript)' : 'is not built (run npm install with a C compiler)';
    logger.warn({ event: 'slow-scanner', reason: wordPassFallbackReason }, `the native word pass ${why}: scanning in JavaScript at about half speed`);
  }
  logger.info({ event: 'started', scanner: wordPassEngine, listen: `${a.host}:${a.port}`, nextHop: `${nextHop.host}:${nextHop.port}`, health: health?.address(), console: consoleServer?.url }, 'Hallmonitor is relaying');
  let stopping: Promise<void> | undefined;
  return {
    config,
    receiver,
    deliverer,
    capture,
    health,
    logger,
    metrics,
    store,
    outbox,
    console: consoleServer,
    status,
    stop() {
      stopping ??= (async () => {
        logger.info({ event: 'stopping', inFlight: receiver.inFlight() }, 'stopping: finishing messages in flight');
        await receiver.close();
        await health?.close();
        await consoleServer?.close();
        await closeBackEnd();
        logger.info({ event: 'stopped' }, 'stopped');
      })();
      return stopping;
    },
  };
}

/** Text recognition's counters (src/inspect/ocr.ts) on /metrics. */
function countOcr(metrics: Metrics, ocrStats: () => OcrStats): void {
  metrics.counterFrom('hallmonitor_ocr_pages_total', 'Pages (scanned PDF pages, pictures) read by text recognition (Tesseract).', () => [{ value: ocrStats().pagesRead }]);
  metrics.counterFrom('hallmonitor_ocr_seconds_total', 'Seconds spent in Tesseract.', () => [{ value: Math.round(ocrStats().secondsSpent * 1000) / 1000 }]);
  metrics.counterFrom('hallmonitor_ocr_pages_skipped_total', 'Pages and pictures not read by Tesseract, by reason: gate (not a page of text: photos, logos, blank pages) or budget (looked like text, past the per-message page or time budget).', () => {
    const s = ocrStats();
    return [{ labels: { reason: 'gate' }, value: s.skippedByGate }, { labels: { reason: 'budget' }, value: s.skippedByBudget }];
  });
  metrics.counterFrom('hallmonitor_ocr_gate_seconds_total', 'Seconds spent deciding whether pictures look like pages of text (thumbnails and the gate).', () => [{ value: Math.round(ocrStats().gateSeconds * 1000) / 1000 }]);
}
