// One gateway instance for the trust benchmark, in its own process, on the production path:
// loadConfig → startGateway with the real policy for every school. Outcome lines go to /dev/null.
// Usage: node bench/trust/gateway.ts <config.yaml>. Prints {"port": N, "startMs": N} once
// listening; stops on SIGTERM.
import pino from 'pino';
import { loadConfig } from '../../src/config/index.ts';
import { startGateway } from '../../src/gateway.ts';

const started = performance.now();
const config = loadConfig(process.argv[2]);
const logger = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false }));
const gateway = await startGateway(config, { logger });
process.stdout.write(`${JSON.stringify({ port: gateway.receiver.address().port, startMs: Math.round(performance.now() - started) })}\n`);
process.on('SIGTERM', () => {
  void gateway.stop().then(() => process.exit(0));
});
