// Health endpoint for monitoring (and `hallmonitor health`): is the gateway up, how busy is it, and
// can it reach its next hop. It reveals no message content.
import http from 'node:http';
import type { HostPort } from '../config/net.ts';
import type { Metrics } from './metrics.ts';

export interface HealthSource {
  status(): Promise<Record<string, unknown> & { ok: boolean }>;
}

export interface HealthServer { address(): HostPort; close(): Promise<void> }

/** `metrics`: what /metrics serves (a gateway's, or under `serve --workers` every worker's merged). */
export async function startHealthServer(listen: HostPort, source: HealthSource, metrics?: Pick<Metrics, 'render'>): Promise<HealthServer> {
  const server = http.createServer(async (req, res) => {
    if (req.method === 'GET' && req.url === '/metrics' && metrics) {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' }).end(await metrics.render());
      return;
    }
    if (req.method !== 'GET' || (req.url !== '/health' && req.url !== '/healthz')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    try {
      const body = await source.status();
      res.writeHead(body.ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body) + '\n');
    } catch (err) {
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, error: (err as Error).message }) + '\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const a = server.address() as { address: string; port: number };
  return {
    address: () => ({ host: a.address, port: a.port }),
    close: () => new Promise((r) => server.close(() => r())),
  };
}
