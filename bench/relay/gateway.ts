// The gateway under benchmark, in its own process (so the benchmark's clients do not share its
// event loop). Production code path: validateConfig → startGateway, per-message pino outcome lines
// (written to /dev/null), and the inspection seam saying "deliver" (this measures the relay).
// Usage: node bench/relay/gateway.ts <next-hop-port> <allow-network>[,<allow-network>...]
// Prints one JSON line {"port": N} once listening; stops on SIGTERM.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { validateConfig } from '../../src/config/index.ts';
import { startGateway } from '../../src/gateway.ts';
import { DELIVER } from '../../src/types.ts';

const [nextHopPort, allow = '127.0.0.1/32'] = process.argv.slice(2);
const dataDir = mkdtempSync(path.join(tmpdir(), 'hm-bench-gw-'));
const config = validateConfig(
  {
    hostname: 'hallmonitor.bench',
    listen: '127.0.0.1:0',
    data_dir: dataDir,
    next_hop: { host: '127.0.0.1', port: Number(nextHopPort), starttls: 'off' },
    health: { listen: null },
    log: { level: 'info' },
    relay: { allow_networks: allow.split(','), max_clients: 1000 },
  },
  '(benchmark)', {}, {}, dataDir,
);
const logger = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false }));
const gateway = await startGateway(config, { logger, inspector: async () => DELIVER });
process.stdout.write(`${JSON.stringify({ port: gateway.receiver.address().port })}\n`);
process.on('SIGTERM', () => {
  void gateway.stop().then(() => {
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
});
