// Assembles a running gateway from a validated configuration: the receive stage, the pipeline,
// the next hop (or the embedded capture sink), and the health endpoint.
import pino, { type Logger } from 'pino';
import type { Config } from './config/index.ts';
import { createDeliverer, type Deliverer } from './act/deliver.ts';
import { startCaptureSink, type CaptureSink } from './act/capture.ts';
import { startReceiver, type Receiver } from './receive/index.ts';
import { createPipeline } from './pipeline.ts';
import { startHealthServer, type HealthServer } from './review/health.ts';
import { Metrics } from './review/metrics.ts';
import { DELIVER, type Inspector } from './types.ts';

export interface Gateway {
  config: Config;
  receiver: Receiver;
  deliverer: Deliverer;
  capture?: CaptureSink;
  health?: HealthServer;
  logger: Logger;
  metrics: Metrics;
  stop(): Promise<void>;
}

export interface GatewayOptions {
  logger?: Logger;
  /** The inspection seam; defaults to always deliver until the policy stage is wired. */
  inspector?: Inspector;
}

export function createLogger(config: Config): Logger {
  return pino({ level: config.log.level, base: { service: 'hallmonitor' }, timestamp: pino.stdTimeFunctions.isoTime });
}

export async function startGateway(config: Config, opts: GatewayOptions = {}): Promise<Gateway> {
  const logger = opts.logger ?? createLogger(config);
  let capture: CaptureSink | undefined;
  let nextHop = config.nextHop;
  if (!nextHop) {
    capture = await startCaptureSink(config.dataDir);
    nextHop = { host: capture.host, port: capture.port, starttls: 'off', secure: false, rejectUnauthorized: true, timeoutSeconds: 30 };
    logger.info({ event: 'capture-mode', dir: capture.dir }, 'no next hop configured: delivering to the local capture folder (try-it-out mode)');
  }
  const deliverer = createDeliverer(nextHop, { hostname: config.hostname });
  const inspector: Inspector = opts.inspector ?? (async () => DELIVER);
  const metrics = new Metrics();
  const handler = createPipeline({ hostname: config.hostname, inspector, deliverer, logger, metrics, inspectTimeoutMs: config.relay.dataTimeoutSeconds * 1000 });
  let receiver: Receiver;
  try {
    receiver = await startReceiver(config, handler, logger);
  } catch (err) {
    deliverer.close();
    await capture?.close();
    throw err;
  }
  const startedAt = new Date();
  let health: HealthServer | undefined;
  if (config.health.listen) {
    health = await startHealthServer(config.health.listen, {
      async status() {
        const hop = await deliverer.probe();
        return {
          ok: hop.ok,
          startedAt: startedAt.toISOString(),
          listen: receiver.address(),
          inFlight: receiver.inFlight(),
          nextHop: { reachable: hop.ok, detail: hop.detail, capture: !!capture },
        };
      },
    }, metrics);
    metrics.gauge('hallmonitor_inflight_messages', 'Messages received and not yet answered.', () => [{ value: receiver.inFlight() }]);
  }
  const a = receiver.address();
  logger.info({ event: 'started', listen: `${a.host}:${a.port}`, nextHop: `${nextHop.host}:${nextHop.port}`, health: health?.address() }, 'Hallmonitor is relaying');
  let stopping: Promise<void> | undefined;
  return {
    config,
    receiver,
    deliverer,
    capture,
    health,
    logger,
    metrics,
    stop() {
      stopping ??= (async () => {
        logger.info({ event: 'stopping', inFlight: receiver.inFlight() }, 'stopping: finishing messages in flight');
        await receiver.close();
        await health?.close();
        deliverer.close();
        await capture?.close();
        logger.info({ event: 'stopped' }, 'stopped');
      })();
      return stopping;
    },
  };
}
