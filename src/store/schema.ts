// The quarantine and incident register: one schema for SQLite and PostgreSQL.
// Times are ISO-8601 UTC text (`2026-11-25T11:40:58.123Z`: sorts as text in both databases),
// lists and records are JSON text, flags are 0/1 integers, so every query is the same on both.
import type { Generated } from 'kysely';

export type IncidentStatus = 'open' | 'released' | 'rejected' | 'reported-to-ico' | 'closed-no-breach';
export const INCIDENT_STATUSES: readonly IncidentStatus[] = ['open', 'released', 'rejected', 'reported-to-ico', 'closed-no-breach'];

/** `held`: quarantined for review. `near-miss`: a blocked sending attempt (nothing left the school). */
export type IncidentKind = 'held' | 'near-miss';

export interface IncidentTable {
  /** Human-friendly and unique across every gateway sharing the store: HM-2026-000123. */
  reference: string;
  message_id: string;
  detected_at: string;
  action: 'quarantine' | 'block';
  kind: IncidentKind;
  status: IncidentStatus;
  /** Envelope sender (MAIL FROM); '' for the null sender. */
  sender: string;
  /** JSON list of the envelope recipients' addresses. */
  recipients: string;
  /** JSON list of rule ids, strictest first. */
  rules: string;
  severity: number;
  /** JSON list of findings; evidence is already redacted by the detectors. */
  findings: string;
  potential_breach: number;
  breach_marked_at: string | null;
  /** When the ICO must have been told, for a potential breach (72 hours from awareness). */
  ico_deadline: string | null;
  escalated_at: string | null;
  /** Which gateway (hostname) held it. */
  held_by: string;
  updated_at: string;
  /** The school (tenant id, src/tenants.ts) the message was sent for; 'school' for a single school. */
  tenant: string;
}

/** The held message itself: kept whole until the quarantine retention period ends. */
export interface HeldMessageTable {
  message_id: string;
  reference: string;
  received_at: string;
  /** JSON Envelope, kept exactly for release. */
  envelope: string;
  /** JSON ReceivedMessage['client'], for the trace header on release. */
  client: string;
  /** JSON Verdict as the policy gave it. */
  verdict: string;
  /** The exact bytes of DATA; null once purged by retention. */
  raw: Buffer | null;
  size: number;
  sha256: string;
  purged_at: string | null;
}

/** Append-only: who did what, when and why. Never updated or deleted except with the incident. */
export interface IncidentHistoryTable {
  id: Generated<number>;
  reference: string;
  at: string;
  actor: string;
  action: string;
  detail: string | null;
}

export type OutboxStatus = 'pending' | 'sending' | 'sent' | 'failed';
/** `notice`: an email Hallmonitor composes. `release`: deliver a held message to its recipients. */
export type OutboxJob = 'notice' | 'release';

/** A row a worker claims with a lease and retries (outbox rows, failure notices). */
interface LeasedRow {
  id: string;
  recipient: string;
  created_at: string;
  next_attempt_at: string;
  attempts: number;
  claimed_by: string | null;
  claimed_until: string | null;
  last_error: string | null;
}

export interface OutboxTable extends LeasedRow {
  job: OutboxJob;
  /** Notice template: business-manager, safeguarding-lead, sender-held, sender-not-sent, sender-rejected, business-manager-escalated. */
  template: string;
  reference: string;
  mode: 'immediate' | 'digest';
  status: OutboxStatus;
  sent_at: string | null;
  /** Message-ID header, fixed when the row is written so a retry carries the same one. */
  message_id_header: string;
  actor: string | null;
  /** The incident's school: the notice is written with that school's name, From address and templates. */
  tenant: string;
}

/** System-level audit (retention purges): survives the incidents it talks about. */
export interface AuditTable {
  id: Generated<number>;
  at: string;
  actor: string;
  action: string;
  detail: string | null;
}

export interface CounterTable {
  name: string;
  value: number;
}

export interface Database {
  incidents: IncidentTable;
  held_messages: HeldMessageTable;
  incident_history: IncidentHistoryTable;
  outbox: OutboxTable;
  audit_log: AuditTable;
  counters: CounterTable;
  health_probe: { instance: string; at: string };
  /** The key that signs links in notification emails ('email-links'), hex. */
  link_keys: { id: string; secret: string; created_at: string };
  /** Links used (src/act/notify/links.ts linkUseId), so that each works once. */
  link_uses: { id: string; reference: string; purpose: string; used_at: string; used_by: string };
  bounces: BounceTable;
}

/** A failure notice to a sender, waiting to be sent (src/store/bounces.ts); deleted once sent or given up. */
export interface BounceTable extends LeasedRow {
  /** The notice as sent (a delivery status notification, RFC 3464), to `recipient`: the refused message's MAIL FROM. */
  raw: Buffer;
  status: 'pending' | 'sending';
}
