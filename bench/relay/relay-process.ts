// Starts the relay path alone (bench/relay/gateway.ts: the production receiver and relay, the
// inspection seam saying "deliver") in a process of its own, for bench/relay/run.ts and peers.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** The relay in its own process, relaying to 127.0.0.1:`nextHopPort`; ready when it says its port. */
export async function startGatewayProcess(nextHopPort: number): Promise<{ port: number; proc: ChildProcess }> {
  const script = path.join(import.meta.dirname, 'gateway.ts');
  const proc = spawn(process.execPath, [script, String(nextHopPort), '127.0.0.1/32'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    lines.once('line', (l) => resolve((JSON.parse(l) as { port: number }).port));
    proc.once('exit', (code) => reject(new Error(`gateway exited ${code}`)));
  });
  return { port, proc };
}
