// The `console:` section of the configuration: where the business manager's console listens,
// its public address (for links in notification emails), TLS, session length and lock-out.
// Checked by the configuration schema (src/config/schema.ts); the certificate files are read here.
import path from 'node:path';
import type { Config, HostPort } from '../../config/index.ts';
import { parseHostPort } from '../../config/net.ts';
import { Problems } from '../../config/problems.ts';
import { parseSections } from '../../config/schema.ts';

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

/** The console's settings from the checked configuration (`serve --console` is written into console.listen by the CLI). */
export function consoleSettings(config: Pick<Config, 'source'> & { console?: unknown; school?: unknown }): ConsoleSettings {
  const { console: doc, school } = parseSections(config.source, { console: config.console, school: config.school });
  const listen: HostPort | null = doc.listen !== undefined && doc.listen !== 'off' ? parseHostPort(doc.listen) : null;
  const publicUrl = doc.public_url?.replace(/\/+$/, '') ?? null;
  let tls: ConsoleSettings['tls'] = null;
  const p = new Problems();
  if (doc.tls) {
    const base = config.source.startsWith('(') ? process.cwd() : path.dirname(config.source);
    const cert = p.readableFile(doc.tls.cert, 'console.tls.cert', base);
    const key = p.readableFile(doc.tls.key, 'console.tls.key', base);
    if (cert && key) tls = { cert, key };
  }
  p.throwIfAny(config.source);
  return {
    listen,
    publicUrl,
    tls,
    secureCookies: !!tls || !!publicUrl?.startsWith('https://'),
    sessionHours: doc.session_hours,
    idleMinutes: doc.idle_minutes,
    lockout: doc.lockout,
    timeZone: school.time_zone,
    schoolName: school.name ?? 'the school',
    safeguardingMinSeverity: school.safeguarding_min_severity,
  };
}
