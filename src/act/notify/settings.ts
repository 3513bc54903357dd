// Who Hallmonitor writes to and how, from the configuration: `school.business_manager`,
// `school.safeguarding_lead`, `school.notifications_from`, `school.digest_time`,
// `school.safeguarding_min_severity`, `school.templates_dir`, `console.public_url`,
// `policy.block_mode` and each rule's `policy.rules.<id>.notify`. Only these keys are read here;
// the policy module validates the rest of those sections.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Problems, type Config } from '../../config/index.ts';
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

/** The keys of `school:` and `policy:` this module reads (the policy module must accept them too). */
export const NOTIFY_SCHOOL_KEYS = ['business_manager', 'safeguarding_lead', 'notifications_from', 'digest_time', 'time_zone', 'safeguarding_min_severity', 'templates_dir'] as const;
export const NOTIFY_POLICY_KEYS = ['block_mode', 'override_hours'] as const;

const ADDRESS = /^[^@\s<>"]+@[^@\s<>"]+\.[^@\s<>"]+$/;

export function notifySettings(config: Config, overrides: { businessManager?: string } = {}): NotifySettings {
  const p = new Problems();
  const school = config.school;
  const address = (v: unknown, key: string): string | null => {
    const s = p.string(v, key, { optional: true });
    if (s === undefined) return null;
    if (!ADDRESS.test(s)) {
      p.add(`${key}: "${s}" is not an email address`);
      return null;
    }
    return s;
  };
  const businessManager = overrides.businessManager !== undefined
    ? address(overrides.businessManager, '--business-manager')
    : address(school.business_manager, 'school.business_manager');
  const safeguardingLead = address(school.safeguarding_lead, 'school.safeguarding_lead');
  const from = address(school.notifications_from, 'school.notifications_from') ?? `hallmonitor@${config.hostname}`;
  const schoolName = p.string(school.name, 'school.name', { optional: true }) ?? 'the school';
  const schoolDomains = Array.isArray(school.domains) ? school.domains.filter((d): d is string => typeof d === 'string').map((d) => d.toLowerCase().replace(/^@/, '')) : [];

  const consoleDoc = config.console;
  let consoleUrl = p.string(consoleDoc.public_url, 'console.public_url', { optional: true }) ?? null;
  if (consoleUrl !== null && !/^https?:\/\/[^\s]+$/.test(consoleUrl)) {
    p.add(`console.public_url: expected an http(s):// address, got "${consoleUrl}"`);
    consoleUrl = null;
  }
  // No public address but a console that listens: link to where it listens (on 127.0.0.1 that
  // works on the gateway's own machine, as in the demo school), https when it has a certificate.
  if (consoleUrl === null && typeof consoleDoc.listen === 'string' && consoleDoc.listen !== 'off') {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d+)$/.exec(consoleDoc.listen);
    if (m && m[3] !== '0') {
      const host = m[1] ? `[${m[1]}]` : m[2] === '0.0.0.0' ? config.hostname : m[2];
      consoleUrl = `${consoleDoc.tls ? 'https' : 'http'}://${host}:${m[3]}`;
    }
  }

  const digestText = p.string(school.digest_time, 'school.digest_time', { optional: true }) ?? '07:30';
  const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(digestText);
  if (!m) p.add(`school.digest_time: expected a time of day like 07:30, got "${digestText}"`);
  const timeZone = p.string(school.time_zone, 'school.time_zone', { optional: true }) ?? 'Europe/London';
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone });
  } catch {
    p.add(`school.time_zone: "${timeZone}" is not a time zone (for example Europe/London)`);
  }
  const min = school.safeguarding_min_severity;
  const safeguardingMinSeverity = min === undefined || min === null ? 5 : p.number(min, 'school.safeguarding_min_severity', { min: 1, max: 5 });
  const templatesText = p.string(school.templates_dir, 'school.templates_dir', { optional: true });
  const templatesDir = templatesText ? path.resolve(config.source.startsWith('(') ? process.cwd() : path.dirname(config.source), templatesText) : null;

  const policy = config.policy;
  const blockMode = policy.block_mode === undefined || policy.block_mode === null ? 'hold' : p.oneOf(policy.block_mode, ['hold', 'reject'] as const, 'policy.block_mode');
  const rulesDoc = policy.rules && typeof policy.rules === 'object' && !Array.isArray(policy.rules) ? (policy.rules as Record<string, unknown>) : {};
  const notify = new Map<string, NotifyMode>();
  const overridable = new Map<string, boolean>();
  for (const [id, doc] of Object.entries(rulesDoc)) {
    if (doc && typeof doc === 'object' && 'notify' in doc) {
      notify.set(id, p.oneOf((doc as Record<string, unknown>).notify, ['immediate', 'digest', 'none'] as const, `policy.rules.${id}.notify`));
    }
    if (doc && typeof doc === 'object' && typeof (doc as Record<string, unknown>).sender_may_override === 'boolean') {
      overridable.set(id, (doc as Record<string, unknown>).sender_may_override as boolean);
    }
  }
  const hours = (v: unknown, key: string, fallback: number, max: number) => (v === undefined || v === null ? fallback : p.number(v, key, { min: 1, max }));
  const overrideHours = hours(policy.override_hours, 'policy.override_hours', 24, 168);
  const emailLinkHours = hours(consoleDoc.email_link_hours, 'console.email_link_hours', 72, 720);
  const ruleDefaults = RULES as Record<string, { defaults: { notify: NotifyMode; sender_may_override?: boolean } } | undefined>;
  p.throwIfAny(config.source);
  return {
    hostname: config.hostname,
    schoolName,
    schoolDomains,
    businessManager,
    safeguardingLead,
    safeguardingMinSeverity,
    from,
    returnPath: '',
    consoleUrl: consoleUrl?.replace(/\/+$/, '') ?? null,
    digestTime: { hour: m ? Number(m[1]) : 7, minute: m ? Number(m[2]) : 30 },
    timeZone,
    templatesDir,
    blockMode,
    ruleNotify: (rule) => notify.get(rule) ?? ruleDefaults[rule]?.defaults.notify ?? 'immediate',
    senderMayOverride: (rules) => rules.length > 0 && rules.every((r) => overridable.get(r) ?? ruleDefaults[r]?.defaults.sender_may_override ?? false),
    overrideHours,
    emailLinkHours,
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
