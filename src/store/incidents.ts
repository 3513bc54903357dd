// Queries on the incident register and the held messages. Every function takes the database or a
// transaction, so the hold (src/act/hold.ts) writes everything in one transaction.
import { sql, type Kysely } from 'kysely';
import type { Envelope, Finding, ReceivedMessage, Verdict } from '../types.ts';
import type { Database, IncidentKind, IncidentStatus, IncidentTable } from './schema.ts';

type Db = Kysely<Database>;

/** An incident as the rest of Hallmonitor sees it (JSON columns parsed). */
export interface Incident {
  reference: string;
  /** The school (tenant id) whose mail it was; 'school' for a single school. */
  tenant: string;
  messageId: string;
  detectedAt: Date;
  action: 'quarantine' | 'block';
  kind: IncidentKind;
  status: IncidentStatus;
  sender: string;
  recipients: string[];
  rules: string[];
  severity: number;
  findings: Finding[];
  potentialBreach: boolean;
  breachMarkedAt: Date | null;
  icoDeadline: Date | null;
  escalatedAt: Date | null;
  heldBy: string;
  updatedAt: Date;
}

export interface HistoryEntry { at: Date; actor: string; action: string; detail: string | null }

export interface HeldMessage {
  messageId: string;
  reference: string;
  receivedAt: Date;
  envelope: Envelope;
  client: ReceivedMessage['client'];
  verdict: Verdict;
  /** null once the quarantine retention period has purged it. */
  raw: Buffer | null;
  size: number;
  sha256: string;
  purgedAt: Date | null;
}

export const iso = (d: Date): string => d.toISOString();
const date = (s: string | null): Date | null => (s === null ? null : new Date(s));

/** The 72 hours UK GDPR gives to report a personal data breach to the ICO, from awareness. */
export const ICO_DEADLINE_HOURS = 72;

/**
 * Next reference for the year: HM-2026-000123. One counter row per year, incremented inside the
 * caller's transaction, so references are unique and gap-free across every gateway on the store.
 */
export async function nextReference(db: Db, at: Date): Promise<string> {
  const year = at.getUTCFullYear();
  const row = await db
    .insertInto('counters')
    .values({ name: `reference-${year}`, value: 1 })
    .onConflict((oc) => oc.column('name').doUpdateSet({ value: sql<number>`counters.value + 1` }))
    .returning('value')
    .executeTakeFirstOrThrow();
  return `HM-${year}-${String(row.value).padStart(6, '0')}`;
}

export async function insertIncident(db: Db, row: IncidentTable): Promise<void> {
  await db.insertInto('incidents').values(row).execute();
}

export async function insertHeldMessage(db: Db, message: ReceivedMessage, reference: string, verdict: Verdict, sha256: string): Promise<void> {
  await db
    .insertInto('held_messages')
    .values({
      message_id: message.id,
      reference,
      received_at: iso(message.receivedAt),
      envelope: JSON.stringify(message.envelope),
      client: JSON.stringify(message.client),
      verdict: JSON.stringify(verdict),
      raw: message.raw,
      size: message.raw.length,
      sha256,
      purged_at: null,
    })
    .execute();
}

export async function appendHistory(db: Db, reference: string, actor: string, action: string, detail: string | null, at = new Date()): Promise<void> {
  await db.insertInto('incident_history').values({ reference, at: iso(at), actor, action, detail }).execute();
}

function toIncident(r: IncidentTable): Incident {
  return {
    reference: r.reference,
    tenant: r.tenant,
    messageId: r.message_id,
    detectedAt: new Date(r.detected_at),
    action: r.action,
    kind: r.kind,
    status: r.status,
    sender: r.sender,
    recipients: JSON.parse(r.recipients) as string[],
    rules: JSON.parse(r.rules) as string[],
    severity: r.severity,
    findings: JSON.parse(r.findings) as Finding[],
    potentialBreach: r.potential_breach === 1,
    breachMarkedAt: date(r.breach_marked_at),
    icoDeadline: date(r.ico_deadline),
    escalatedAt: date(r.escalated_at),
    heldBy: r.held_by,
    updatedAt: new Date(r.updated_at),
  };
}

/** Finds an incident by its reference (any case) or by the message id in the trace header. */
export async function findIncident(db: Db, key: string): Promise<Incident | undefined> {
  const k = key.trim();
  const row = await db
    .selectFrom('incidents')
    .selectAll()
    .where((eb) => eb.or([eb('reference', '=', k.toUpperCase()), eb('message_id', '=', k.toUpperCase())]))
    .executeTakeFirst();
  return row ? toIncident(row) : undefined;
}

export interface IncidentFilter {
  /** Only these schools' incidents (tenant ids). */
  tenant?: string[];
  status?: IncidentStatus[];
  kind?: IncidentKind[];
  since?: Date;
  until?: Date;
  limit?: number;
  /** Only incidents whose message is still held (not purged by retention). */
  withMessage?: boolean;
}

export async function listIncidents(db: Db, f: IncidentFilter = {}): Promise<Incident[]> {
  let q = db.selectFrom('incidents').selectAll('incidents');
  if (f.tenant?.length) q = q.where('incidents.tenant', 'in', f.tenant);
  if (f.status?.length) q = q.where('incidents.status', 'in', f.status);
  if (f.kind?.length) q = q.where('incidents.kind', 'in', f.kind);
  if (f.since) q = q.where('incidents.detected_at', '>=', iso(f.since));
  if (f.until) q = q.where('incidents.detected_at', '<', iso(f.until));
  if (f.withMessage) {
    q = q.where((eb) => eb.exists(eb.selectFrom('held_messages').select('held_messages.message_id')
      .whereRef('held_messages.reference', '=', 'incidents.reference').where('held_messages.purged_at', 'is', null)));
  }
  q = q.orderBy('incidents.detected_at', 'desc').orderBy('incidents.reference', 'desc');
  if (f.limit) q = q.limit(f.limit);
  return (await q.execute()).map(toIncident);
}

export async function incidentHistory(db: Db, reference: string): Promise<HistoryEntry[]> {
  const rows = await db.selectFrom('incident_history').select(['at', 'actor', 'action', 'detail']).where('reference', '=', reference).orderBy('id').execute();
  return rows.map((r) => ({ at: new Date(r.at), actor: r.actor, action: r.action, detail: r.detail }));
}

export async function heldMessage(db: Db, reference: string): Promise<HeldMessage | undefined> {
  const r = await db.selectFrom('held_messages').selectAll().where('reference', '=', reference).executeTakeFirst();
  if (!r) return undefined;
  return {
    messageId: r.message_id,
    reference: r.reference,
    receivedAt: new Date(r.received_at),
    envelope: JSON.parse(r.envelope) as Envelope,
    client: JSON.parse(r.client) as ReceivedMessage['client'],
    verdict: JSON.parse(r.verdict) as Verdict,
    raw: r.raw === null ? null : Buffer.from(r.raw),
    size: r.size,
    sha256: r.sha256,
    purgedAt: date(r.purged_at),
  };
}

/**
 * Moves an incident from one of `from` to `to`, in one conditional UPDATE: when two people (or two
 * gateways) act at once, exactly one wins and the other is told the incident already moved on.
 */
export async function transition(db: Db, reference: string, from: IncidentStatus[], to: IncidentStatus, at: Date): Promise<boolean> {
  const res = await db
    .updateTable('incidents')
    .set({ status: to, updated_at: iso(at) })
    .where('reference', '=', reference)
    .where('status', 'in', from)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

export async function updateIncidentFields(db: Db, reference: string, fields: Partial<Pick<IncidentTable, 'potential_breach' | 'breach_marked_at' | 'ico_deadline' | 'escalated_at'>>, at: Date): Promise<void> {
  await db.updateTable('incidents').set({ ...fields, updated_at: iso(at) }).where('reference', '=', reference).execute();
}

/** History action holding the redacted reason the sender of a rejected message is shown. */
export const NOTE_TO_SENDER = 'note-to-sender';
