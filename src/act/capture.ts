// The embedded "next hop" for trying Hallmonitor out: a local SMTP sink on loopback that writes
// every delivered message to DATA_DIR/captured/<time>-<n>.eml, so a newcomer can send a message with
// any SMTP client and see exactly what would have left the school.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';

export interface CaptureSink { host: string; port: number; dir: string; close(): Promise<void> }

/**
 * `worker`: under `serve --workers` each relay process has its own sink (its own port, not the
 * cluster's shared one) and names its files with its pid, so two never write the same file.
 */
export async function startCaptureSink(dataDir: string, opts: { worker?: boolean } = {}): Promise<CaptureSink> {
  const tag = opts.worker ? `-${process.pid}` : '';
  const dir = path.join(dataDir, 'captured');
  mkdirSync(dir, { recursive: true });
  let n = 0;
  const server = new SMTPServer({
    logger: false,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    disableReverseLookup: true,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const file = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}${tag}-${++n}.eml`);
        const env = `X-Capture-Mail-From: <${session.envelope.mailFrom && session.envelope.mailFrom.address}>\r\n` +
          session.envelope.rcptTo.map((r) => `X-Capture-Rcpt-To: <${r.address}>\r\n`).join('');
        try {
          writeFileSync(file, Buffer.concat([Buffer.from(env), ...chunks]));
          callback(null, `captured as ${path.basename(file)}`);
        } catch (err) {
          callback(Object.assign(new Error('4.3.0 capture failed'), { responseCode: 451 }));
        }
      });
    },
  });
  // The capture sink is internal: it greets at once.
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', exclusive: !!opts.worker }, resolve));
  const addr = server.server.address() as { port: number };
  return { host: '127.0.0.1', port: addr.port, dir, close: () => new Promise((r) => server.close(() => r())) };
}
