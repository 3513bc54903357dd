// Who Hallmonitor writes to and how, from the configuration: `school.business_manager`,
// `school.safeguarding_lead`, `school.notifications_from`, `school.digest_time`,
// `school.safeguarding_min_severity`, `school.templates_dir`, `console.public_url`,
// `policy.block_mode`, `policy.override_hours`, `console.email_link_hours` and each rule's
// `policy.rules.<id>.notify` and `sender_may_override` (all checked by the
// configuration schema, src/config/schema.ts).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../config/index.ts';
import { isEmailAddress, parseSections } from '../../config/schema.ts';
import { RULES } from '../../decide/rules.ts';

export type NotifyMode = 'immediate' | 'digest' | 'none';

export interface NotifySettings {
  hostname: string;
  schoolName: string;
  schoolDomains: string[];
  businessManager: string | null;
  safeguardingLead: string | null;
  /** The safeguarding lead is told at once about incidents at or above this severity. */
  safeguardingMinSeverity: number;
  from: string;
  /** Envelope sender of Hallmonitor's own emails: '' (the null sender), so bounces never loop. */
  returnPath: string;
  consoleUrl: string | null;
  /** Local time of the daily digest, in the school's time zone. */
  digestTime: { hour: number; minute: number };
  timeZone: string;
  /** The school's edited templates; missing files fall back to the shipped ones. */
  templatesDir: string | null;
  /** `hold`: store and answer 250, tell the sender. `reject`: store and answer 550 5.7.1 with the reference. */
  blockMode: 'hold' | 'reject';
  ruleNotify: (rule: string) => NotifyMode;
  /** Whether the sender may send it anyway (every rule of the incident has sender_may_override). */
  senderMayOverride: (rules: string[]) => boolean;
  /** How long the sender's "send it anyway" link works (policy.override_hours). */
  overrideHours: number;
  /** How long the business manager's release and reject links work (console.email_link_hours). */
  emailLinkHours: number;
}

export const SHIPPED_TEMPLATES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../config/templates');

export function notifySettings(config: Pick<Config, 'hostname' | 'source'> & { school?: unknown; policy?: unknown; console?: unknown }, overrides: { businessManager?: string } = {}): NotifySettings {
  const bm = overrides.businessManager;
  const { school, policy, console: consoleDoc } = parseSections(config.source, { school: config.school, policy: config.policy, console: config.console },
    bm !== undefined && !isEmailAddress(bm) ? [`--business-manager: "${bm}" is not an email address`] : []);
  const businessManager = bm ?? school.business_manager ?? null;

  let consoleUrl = consoleDoc.public_url ?? null;
  // No public address but a console that listens: link to where it listens (on 127.0.0.1 that
  // works on the gateway's own machine, as in the demo school), https when it has a certificate.
  if (consoleUrl === null && consoleDoc.listen !== undefined && consoleDoc.listen !== 'off') {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d+)$/.exec(consoleDoc.listen);
    if (m && m[3] !== '0') {
      const host = m[1] ? `[${m[1]}]` : m[2] === '0.0.0.0' ? config.hostname : m[2];
      consoleUrl = `${consoleDoc.tls ? 'https' : 'http'}://${host}:${m[3]}`;
    }
  }
  const [hour, minute] = school.digest_time.split(':').map(Number);
  const templatesDir = school.templates_dir ? path.resolve(config.source.startsWith('(') ? process.cwd() : path.dirname(config.source), school.templates_dir) : null;
  const rules = policy.rules;
  type RuleChoice = { notify?: NotifyMode; sender_may_override?: boolean } | undefined;
  const given = (rule: string): RuleChoice => (rules as Record<string, RuleChoice>)[rule];
  const shipped = (rule: string): RuleChoice => (RULES as Record<string, { defaults: RuleChoice } | undefined>)[rule]?.defaults;
  return {
    hostname: config.hostname,
    schoolName: school.name ?? 'the school',
    schoolDomains: school.domains,
    businessManager,
    safeguardingLead: school.safeguarding_lead ?? null,
    safeguardingMinSeverity: school.safeguarding_min_severity,
    from: school.notifications_from ?? `hallmonitor@${config.hostname}`,
    returnPath: '',
    consoleUrl: consoleUrl?.replace(/\/+$/, '') ?? null,
    digestTime: { hour, minute },
    timeZone: school.time_zone,
    templatesDir,
    blockMode: policy.block_mode,
    ruleNotify: (rule) => given(rule)?.notify ?? shipped(rule)?.notify ?? 'immediate',
    senderMayOverride: (ids) => ids.length > 0 && ids.every((r) => given(r)?.sender_may_override ?? shipped(r)?.sender_may_override ?? false),
    overrideHours: policy.override_hours,
    emailLinkHours: consoleDoc.email_link_hours,
  };
}

const ORDER: Record<NotifyMode, number> = { none: 0, digest: 1, immediate: 2 };

/** How the business manager hears about an incident: the most urgent setting among its rules. */
export function notifyModeFor(settings: NotifySettings, rules: string[]): NotifyMode {
  if (!rules.length) return 'immediate';
  return rules.map(settings.ruleNotify).reduce((a, b) => (ORDER[b] > ORDER[a] ? b : a), 'none' as NotifyMode);
}

/**
 * The next daily digest time after `now`, at digestTime in the school's time zone (British Summer
 * Time included).
 */
export function nextDigestTime(settings: NotifySettings, now: Date): Date {
  const { hour, minute } = settings.digestTime;
  // Try today and the next two days in the school's zone; the first instant after now wins.
  for (let day = 0; day < 3; day++) {
    const probe = new Date(now.getTime() + day * 86_400_000);
    const local = zonedParts(probe, settings.timeZone);
    const guessUtc = Date.UTC(local.year, local.month - 1, local.day, hour, minute);
    // Correct for the zone's offset at that instant (twice, for the day the clocks change).
    let t = guessUtc - zoneOffsetMs(new Date(guessUtc), settings.timeZone);
    t = guessUtc - zoneOffsetMs(new Date(t), settings.timeZone);
    if (t > now.getTime()) return new Date(t);
  }
  return new Date(now.getTime() + 86_400_000);
}

function zonedParts(d: Date, timeZone: string): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).formatToParts(d);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') };
}

function zoneOffsetMs(d: Date, timeZone: string): number {
  const z = zonedParts(d, timeZone);
  const asUtc = Date.UTC(z.year, z.month - 1, z.day, z.hour, z.minute, z.second);
  return asUtc - Math.floor(d.getTime() / 1000) * 1000;
}

/** "Tuesday 24 November 2026, 16:05" in the school's time zone. */
export function formatLocal(d: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(d).replace(' at ', ', ');
}
