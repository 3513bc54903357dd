// Where the relay's CPU goes on the 1 KB new-connection path: the gateway (bench/relay/gateway.ts,
// the production code path with the inspection seam saying "deliver") runs under --cpu-prof while
// Postfix's smtp-source sends it MESSAGES messages of 1 KB, 16 sessions, a new connection for
// each, on to Postfix's smtp-sink. Prints the profile's top entries by self time, with the idle
// share, and the load average (bench/load.ts). Findings: bench/relay/ANALYSIS.md.
//   node bench/relay/profile.ts [MESSAGES]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { recordLoad } from '../load.ts';

const MESSAGES = Number(process.argv[2] ?? 20_000);
const load = recordLoad();
const postfix = (name: string) => ['/usr/sbin', '/usr/lib/postfix/sbin'].map((d) => path.join(d, name)).find(existsSync) ?? name;
const port = await new Promise<number>((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = (s.address() as net.AddressInfo).port;
    s.close(() => resolve(p));
  });
});
const sink = spawn(postfix('smtp-sink'), ['-u', 'postfix', '-m', '1000', `127.0.0.1:${port}`, '1024'], { stdio: 'ignore' });
const dir = mkdtempSync(path.join(tmpdir(), 'hm-relay-prof-'));
const gw = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, path.join(import.meta.dirname, 'gateway.ts'), String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
const gwPort = await new Promise<number>((resolve) => createInterface({ input: gw.stdout! }).once('line', (l) => resolve((JSON.parse(l) as { port: number }).port)));
const t0 = performance.now();
const sent = spawnSync(postfix('smtp-source'), ['-s', '16', '-m', String(MESSAGES), '-l', '1024', '-f', 'office@school.example', '-t', 'parent@home.example', '-M', 'mx.school.example', `127.0.0.1:${gwPort}`], { encoding: 'utf8' });
const seconds = (performance.now() - t0) / 1000;
gw.kill('SIGTERM');
await new Promise((r) => gw.once('exit', r));
sink.kill('SIGTERM');
if (sent.status !== 0) throw new Error(`smtp-source failed: ${sent.stderr}`);

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))!;
const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
rmSync(dir, { recursive: true, force: true });
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const f = byId.get(id)!.callFrame;
  const where = f.url.includes('node_modules/') ? f.url.slice(f.url.lastIndexOf('node_modules/') + 13) : f.url.replace(/^file:\/\/.*?\/(src|bench)\//, '$1/');
  const key = `${f.functionName || '(anonymous)'}${where ? ` ${where}:${f.lineNumber + 1}` : ''}`;
  self.set(key, (self.get(key) ?? 0) + profile.timeDeltas[i]);
  total += profile.timeDeltas[i];
});
const idle = self.get('(idle)') ?? 0;
console.log(`${MESSAGES} messages in ${seconds.toFixed(1)} s (${(MESSAGES / seconds).toFixed(0)} msg/s); profile ${(total / 1e6).toFixed(1)} s, idle ${(idle / total * 100).toFixed(0)}%; busy CPU per message ${((total - idle) / MESSAGES).toFixed(0)} µs`);
console.log('| self time | share of busy | function |');
console.log('|---:|---:|---|');
for (const [key, us] of [...self].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, 20)) {
  console.log(`| ${(us / 1000).toFixed(0)} ms | ${(us / (total - idle) * 100).toFixed(1)}% | \`${key}\` |`);
}
console.log(load.describe());
