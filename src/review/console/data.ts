// Queries the console pages share, on top of the store's own (src/store/incidents.ts).
import { sql } from 'kysely';
import { findIncident, type Incident } from '../../store/incidents.ts';
import type { ConsoleContext } from './context.ts';
import { formatter } from './layout.ts';
import { subjectOf } from './mail.ts';

const subjects = new Map<string, string>();

/** The subject line of each held message, read from its first 64 KB only. */
export async function subjectsFor(ctx: ConsoleContext, references: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const missing = references.filter((r) => {
    const s = subjects.get(r);
    if (s !== undefined) out.set(r, s);
    return s === undefined;
  });
  if (missing.length) {
    const rows = await ctx.store.db
      .selectFrom('held_messages')
      .select(['reference', sql<Buffer | Uint8Array | null>`substr(raw, 1, 65536)`.as('head')])
      .where('reference', 'in', missing)
      .execute();
    for (const r of rows) {
      const s = r.head ? await subjectOf(Buffer.from(r.head)) : '';
      out.set(r.reference, s);
      if (r.head) subjects.set(r.reference, s);
    }
    while (subjects.size > 5000) subjects.delete(subjects.keys().next().value!);
  }
  return out;
}

/**
 * Potential breaches whose 72-hour clock is still running (not reported, not closed), most urgent
 * first; only these schools' (tenant ids) when given.
 */
export async function runningClocks(ctx: ConsoleContext, tenants?: string[]): Promise<Incident[]> {
  let q = ctx.store.db
    .selectFrom('incidents')
    .select('reference')
    .where('potential_breach', '=', 1)
    .where('status', 'not in', ['reported-to-ico', 'closed-no-breach']);
  if (tenants) q = q.where('tenant', 'in', tenants.length ? tenants : ['']);
  const rows = await q
    .orderBy('ico_deadline')
    .limit(100)
    .execute();
  const out: Incident[] = [];
  for (const r of rows) {
    const inc = await findIncident(ctx.store.db, r.reference);
    if (inc) out.push(inc);
  }
  return out;
}

/** Which incidents still have their message (not purged by retention). */
export async function withMessage(ctx: ConsoleContext, references: string[]): Promise<Set<string>> {
  if (!references.length) return new Set();
  const rows = await ctx.store.db.selectFrom('held_messages').select('reference').where('reference', 'in', references).where('purged_at', 'is', null).execute();
  return new Set(rows.map((r) => r.reference));
}

/** Midnight at the start of a YYYY-MM-DD day in the school's time zone, as a UTC instant. */
export function localDayStart(day: string, timeZone: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return null;
  const guess = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (Number.isNaN(guess)) return null;
  let t = guess - offsetMs(new Date(guess), timeZone);
  t = guess - offsetMs(new Date(t), timeZone);
  return new Date(t);
}

function offsetMs(d: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).formatToParts(d);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) - Math.floor(d.getTime() / 1000) * 1000;
}

/** YYYY-MM-DD of an instant in the school's time zone. */
export function localDay(d: Date, timeZone: string): string {
  return formatter(timeZone, 'day').format(d);
}
