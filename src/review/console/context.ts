// What every console route needs: the store, the console's own tables, the settings, and the
// gateway's hands (the hold context whose actions queue releases and notices).
import type { Logger } from 'pino';
import type { Config } from '../../config/index.ts';
import type { HoldContext } from '../../act/hold.ts';
import type { Store } from '../../store/index.ts';
import { appendHistory } from '../../store/incidents.ts';
import type { SessionUser } from './auth.ts';
import type { ConsoleDb } from './schema.ts';
import type { ConsoleSettings } from './settings.ts';
import { safeguardingMinSeverity, type Schools } from './schools.ts';
import type { AttachmentReport } from '../../inspect/types.ts';

/** One school's roster as a gateway instance has it loaded. */
export interface SchoolRosterStatus {
  id: string;
  name?: string;
  pupils: number;
  loadedAt: string | null;
  problem: string | null;
}

/** What the gateway reports about itself for the System health page. All optional. */
export interface GatewayStatus {
  ok?: boolean;
  startedAt?: string;
  listen?: { host: string; port: number };
  inFlight?: number;
  nextHop?: { host?: string; port?: number; reachable: boolean; detail?: string; capture?: boolean };
  roster?: { loadedAt?: string | null; pupils?: number; source?: string; problem?: string | null } | null;
  detectors?: { version?: string; count?: number } | null;
  /** The write-and-read probe of the quarantine store (src/store/index.ts probeStore). */
  store?: { writable: boolean; probeMs: number; error?: string };
  policy?: { mode?: string } | null;
  /** Every school's roster (in a trust; one entry for a single school). */
  schools?: SchoolRosterStatus[];
  [key: string]: unknown;
}

/** One attachment as the inspection saw it: the parts of src/inspect's AttachmentReport we show. */
export type AttachmentFacts = Pick<AttachmentReport, 'where' | 'filename' | 'size' | 'declaredType' | 'realType' | 'format' | 'encryption' | 'encryptionDetail'> & {
  entries?: AttachmentFacts[];
};

export interface ConsoleDeps {
  logger?: Logger;
  /** The gateway's hold context: its onQueued wakes the outbox worker that delivers releases. */
  hold?: HoldContext;
  /** The gateway's own health (next hop, roster, detectors); shown on the System health page. */
  status?: () => Promise<GatewayStatus>;
  /** The name this instance reports under (defaults to hostname:pid). */
  instanceName?: string;
  /** Attachment facts for the message view; defaults to the inspection stage (src/inspect). */
  attachmentFacts?: (raw: Buffer) => Promise<AttachmentFacts[] | null>;
  now?: () => Date;
}

export interface ConsoleContext {
  config: Config;
  settings: ConsoleSettings;
  store: Store;
  db: ConsoleDb;
  hold: HoldContext;
  /** The trust's schools (one for a single school): names, scoping, per-school settings. */
  schools: Schools;
  deps: ConsoleDeps;
  logger: Logger | undefined;
  now(): Date;
}

/** The severity from which the safeguarding lead decides, for an incident of this school. */
export function minSeverityFor(ctx: ConsoleContext, tenant: string): number {
  return safeguardingMinSeverity(ctx.schools, tenant, ctx.settings.safeguardingMinSeverity);
}

/** How a console user appears in the incident history and the register. */
export function actorOf(user: SessionUser): string {
  return user.displayName && user.displayName !== user.username ? `${user.displayName} (${user.username}, console)` : `${user.username} (console)`;
}

/** Records a view or an action in the incident's append-only history. */
export async function record(ctx: ConsoleContext, reference: string, user: SessionUser, action: string, detail: string | null = null): Promise<void> {
  await appendHistory(ctx.store.db, reference, actorOf(user), action, detail, ctx.now());
}

/** Console-wide events (sign-in, exports, bulk actions) go to the store's audit log. */
export async function audit(ctx: ConsoleContext, actor: string, action: string, detail: string | null = null): Promise<void> {
  await ctx.store.db.insertInto('audit_log').values({ at: ctx.now().toISOString(), actor, action, detail }).execute();
}
