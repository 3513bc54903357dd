// Whose name, address and templates a notice carries. One service may serve several schools
// (src/tenants.ts): each incident belongs to one, and everything Hallmonitor writes about it (to
// its business manager, safeguarding lead or sender) speaks as that school: its name, its
// notifications_from address, its console link and its own templates_dir. The trust-level settings
// are the fall-back for an incident whose school is no longer configured.
import { ConfigError, type Config } from '../../config/index.ts';
import type { TenantSpec } from '../../tenants.ts';
import { loadTemplates, type Templates } from './compose.ts';
import { notifySettings, type NotifySettings } from './settings.ts';

export interface SchoolNotices { settings: NotifySettings; templates: Templates }

/** Schools nobody would be told about held mail for, said at start-up and by config-check. */
export function schoolsWithoutBusinessManager(notices: NoticeDirectory, single: boolean): Array<{ tenant: string; text: string }> {
  return notices.tenants.filter((t) => !t.notices.settings.businessManager).map((t) => ({
    tenant: t.id,
    text: `school.business_manager is not set${single ? '' : ` for ${t.id}`}: nobody will be told about held mail`,
  }));
}

export interface NoticeDirectory {
  /** The trust's (or the single school's) settings and templates. */
  trust: SchoolNotices;
  /** A school's own, or undefined for an id no configured school has. */
  school(tenant: string): SchoolNotices | undefined;
  /** A school's own, or the trust's. */
  forTenant(tenant: string): SchoolNotices;
  /** The configured schools, in configuration order. */
  readonly tenants: ReadonlyArray<{ id: string; name: string; notices: SchoolNotices }>;
}

/**
 * Validates every school's notification settings and compiles its templates once, at start-up: a
 * bad address or a broken template in any school stops the gateway there, naming the school.
 * Schools sharing a templates directory (or all using the shipped one) share one compiled set.
 */
export function noticeDirectory(config: Config, tenants: TenantSpec[]): NoticeDirectory {
  const compiled = new Map<string, Templates>();
  const templatesFor = (s: NotifySettings): Templates => {
    const key = s.templatesDir ?? '';
    let t = compiled.get(key);
    if (!t) {
      t = loadTemplates(s.templatesDir, config.source);
      compiled.set(key, t);
    }
    return t;
  };
  const settings = notifySettings(config);
  const trust: SchoolNotices = { settings, templates: templatesFor(settings) };
  const problems: string[] = [];
  const list: Array<{ id: string; name: string; notices: SchoolNotices }> = [];
  for (const t of tenants) {
    // The single school's view is the configuration itself.
    if (t.config === config) {
      list.push({ id: t.id, name: t.name, notices: trust });
      continue;
    }
    try {
      const s = notifySettings(t.config);
      list.push({ id: t.id, name: t.name, notices: { settings: s, templates: templatesFor(s) } });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems.map((p) => `tenants (${t.id}): ${p}`));
    }
  }
  if (problems.length) throw new ConfigError(config.source, problems);
  const byId = new Map(list.map((x) => [x.id, x.notices]));
  return {
    trust,
    tenants: list,
    school: (id) => byId.get(id),
    forTenant: (id) => byId.get(id) ?? trust,
  };
}
