// The `console:` section of the configuration: where the business manager's console listens,
// its public address (for links in notification emails), TLS, session length and lock-out.
// Validated at start-up like every other section: a bad value names the key and refuses to start.
import path from 'node:path';
import { Problems, isLoopback, type Config, type HostPort } from '../../config/index.ts';
import { parseHostPort } from '../../config/net.ts';

export interface ConsoleSettings {
  /** null: the console is off. */
  listen: HostPort | null;
  /** How staff reach it (https://hallmonitor.school.sch.uk:8443), or null to derive it from listen. */
  publicUrl: string | null;
  tls: { cert: string; key: string } | null;
  /** Cookies carry the Secure flag: on with TLS, or when public_url is https (TLS ends at a proxy). */
  secureCookies: boolean;
  /** A session ends this long after sign-in, whatever happens. */
  sessionHours: number;
  /** …or after this long without a request. */
  idleMinutes: number;
  lockout: { failures: number; minutes: number };
  /** The school's time zone, for the times shown on every page. */
  timeZone: string;
  schoolName: string;
  /** Severity at or above which the safeguarding lead may decide (school.safeguarding_min_severity). */
  safeguardingMinSeverity: number;
}

const KEYS = ['listen', 'public_url', 'tls', 'session_hours', 'idle_minutes', 'lockout', 'email_link_hours'];

export function consoleSettings(config: Config, overrides: { listen?: string } = {}): ConsoleSettings {
  const p = new Problems();
  const doc = config.console;
  p.unknownKeys(doc, KEYS, 'console.');
  const listenText = overrides.listen ?? (doc.listen === null || doc.listen === 'off' ? undefined : p.string(doc.listen, 'console.listen', { optional: true }));
  let listen: HostPort | null = null;
  if (listenText !== undefined) {
    try {
      listen = parseHostPort(listenText);
    } catch (err) {
      p.add(`${overrides.listen ? '--console' : 'console.listen'}: ${(err as Error).message}`);
    }
  }
  let publicUrl = p.string(doc.public_url, 'console.public_url', { optional: true }) ?? null;
  if (publicUrl !== null) {
    try {
      const u = new URL(publicUrl);
      if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('not http(s)');
      publicUrl = publicUrl.replace(/\/+$/, '');
    } catch {
      p.add(`console.public_url: expected an http(s):// address, got "${publicUrl}"`);
      publicUrl = null;
    }
  }
  let tls: ConsoleSettings['tls'] = null;
  if (doc.tls !== undefined && doc.tls !== null) {
    const t = p.object(doc.tls, 'console.tls');
    p.unknownKeys(t, ['cert', 'key'], 'console.tls.');
    const base = config.source.startsWith('(') ? process.cwd() : path.dirname(config.source);
    const cert = p.readableFile(t.cert, 'console.tls.cert', base);
    const key = p.readableFile(t.key, 'console.tls.key', base);
    if (cert && key) tls = { cert, key };
  }
  if (listen && !tls && !isLoopback(listen.host) && !(publicUrl?.startsWith('https://'))) {
    p.add(`console.tls: the console listens on ${listen.host}, beyond this machine, so it needs a certificate and key (or a public_url starting https:// when TLS ends at a reverse proxy): passwords and pupils' data never cross the network unencrypted`);
  }
  const sessionHours = p.number(doc.session_hours ?? 8, 'console.session_hours', { min: 1, max: 24 * 7 });
  const idleMinutes = p.number(doc.idle_minutes ?? 60, 'console.idle_minutes', { min: 5, max: 24 * 60 });
  const lockDoc = p.object(doc.lockout ?? {}, 'console.lockout');
  p.unknownKeys(lockDoc, ['failures', 'minutes'], 'console.lockout.');
  const lockout = {
    failures: p.number(lockDoc.failures ?? 5, 'console.lockout.failures', { min: 1, max: 100 }),
    minutes: p.number(lockDoc.minutes ?? 15, 'console.lockout.minutes', { min: 1, max: 24 * 60 }),
  };
  const school = config.school;
  const timeZone = typeof school.time_zone === 'string' && school.time_zone ? school.time_zone : 'Europe/London';
  const schoolName = typeof school.name === 'string' && school.name.trim() ? school.name.trim() : 'the school';
  const min = typeof school.safeguarding_min_severity === 'number' ? school.safeguarding_min_severity : 5;
  p.throwIfAny(config.source);
  return {
    listen,
    publicUrl,
    tls,
    secureCookies: !!tls || !!publicUrl?.startsWith('https://'),
    sessionHours,
    idleMinutes,
    lockout,
    timeZone,
    schoolName,
    safeguardingMinSeverity: min,
  };
}
