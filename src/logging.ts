// The gateway's log: JSON lines for journald and log shippers, or, at a terminal (or with
// log.format: pretty), one line a person reads: time, level, the message, then the event's fields.
// The fields are the same either way, and never hold message content or names (they are built
// that way where they are logged); this only changes how they are shown.
import pino, { type Logger } from 'pino';
import type { Config } from './config/index.ts';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const HIDDEN = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname']);

/** `fields` go on every line (a relay worker's number and pid under `serve --workers`). */
export function createLogger(config: Config, out: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout, fields: Record<string, unknown> = {}): Logger {
  const pretty = config.log.format === 'pretty' || (config.log.format === 'auto' && !!out.isTTY);
  const opts = { level: config.log.level, base: { service: 'hallmonitor', ...fields }, timestamp: pino.stdTimeFunctions.isoTime };
  if (!pretty) return out === process.stdout ? pino(opts) : pino(opts, out);
  const colour = !!out.isTTY && !process.env.NO_COLOR;
  return pino(opts, { write: (line: string) => out.write(prettyLine(line, colour)) });
}

/** One JSON log line as one human line (a line that is not JSON is passed through). */
export function prettyLine(json: string, colour = false): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const time = typeof o.time === 'string' ? o.time.slice(11, 19) : '';
  const level = LEVELS[Number(o.level)] ?? String(o.level);
  const paint = (code: number, s: string) => (colour ? `\x1b[${code}m${s}\x1b[0m` : s);
  const lvl = Number(o.level) >= 50 ? paint(31, level) : Number(o.level) >= 40 ? paint(33, level) : paint(2, level);
  const fields = Object.entries(o)
    .filter(([k, v]) => !HIDDEN.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? (/^[\x21-\x7e]+$/.test(v) && !/["=]/.test(v) ? v : JSON.stringify(v)) : JSON.stringify(v)}`);
  // (the message is the gateway's own sentence; control characters are escaped all the same)
  return `${time} ${lvl} ${String(o.msg ?? '').replace(/[\x00-\x1f\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}${fields.length ? `  ${paint(2, fields.join(' '))}` : ''}\n`;
}
