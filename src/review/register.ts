// The incident register as CSV for the governors' report: one writer for the console's download
// and `hallmonitor incidents export`, with one privacy default. Senders and recipients are written
// as their domains (the report is about how often and what, not about whom); full addresses only
// when asked for (`--with-addresses`). Evidence is the redacted evidence, with attachment file
// names masked; no message content. Every cell is quoted, and a cell that a spreadsheet would
// read as a formula (= + - @) is neutralised.
import type { Incident } from '../store/incidents.ts';
import { maskFindings } from './console/privacy.ts';

export interface RegisterEntry {
  incident: Incident;
  /** The incident's latest decision (released, rejected, closed, reported, escalated), if any. */
  decision: { at: Date; actor: string; action: string } | null;
}

export interface RegisterCsvOptions {
  /** The school's time zone, for the local date and time column. */
  timeZone: string;
  /** A school's name from its id (a single school has one too). */
  schoolName: (tenant: string) => string;
  /** Full sender and recipient addresses instead of their domains. */
  withAddresses?: boolean;
}

export const REGISTER_COLUMNS = [
  'reference', 'school_id', 'school', 'detected_at', 'detected_local', 'type', 'action', 'status', 'severity', 'rules', 'sender',
  'recipient_count', 'recipients', 'potential_breach', 'ico_deadline', 'escalated_at', 'evidence', 'last_decision', 'decided_by', 'decided_at',
] as const;

/** History actions that are decisions (the first one ends "time to decision"; the latest is the register's). */
export const DECISIONS = ['released', 'rejected', 'status-closed-no-breach', 'status-reported-to-ico', 'marked-potential-breach', 'escalated'];

/** Decisions in words, for the register page and its CSV. */
export const DECISION_WORDS: Record<string, string> = {
  released: 'Released',
  rejected: 'Rejected',
  'status-closed-no-breach': 'Closed – no breach',
  'status-reported-to-ico': 'Reported to the ICO',
  'marked-potential-breach': 'Marked potential breach',
  escalated: 'Escalated',
};

/** A CSV cell: always quoted, and never read as a formula by a spreadsheet (cells hold message text: no RegExp). */
export function csvCell(v: string | number | null | undefined): string {
  let s = v === null || v === undefined ? '' : String(v);
  const c = s.charAt(0);
  if (c === '=' || c === '+' || c === '-' || c === '@' || c === '\t' || c === '\r') s = `'${s}`;
  return `"${s.split('"').join('""')}"`;
}

function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase();
}

const localFormats = new Map<string, Intl.DateTimeFormat>();

/** "2026-07-01 10:30" in the school's time zone. */
function local(d: Date, timeZone: string): string {
  let f = localFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    localFormats.set(timeZone, f);
  }
  const p = Object.fromEntries(f.formatToParts(d).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

/** The register as CSV (UTF-8 with a byte-order mark, so Excel reads school names right). */
export function registerCsv(rows: RegisterEntry[], opts: RegisterCsvOptions): string {
  const who = (a: string) => (opts.withAddresses ? a : domainOf(a));
  const lines: string[] = [REGISTER_COLUMNS.join(',')];
  for (const { incident: i, decision: d } of rows) {
    lines.push([
      i.reference,
      i.tenant,
      opts.schoolName(i.tenant),
      i.detectedAt.toISOString(),
      local(i.detectedAt, opts.timeZone),
      i.kind === 'near-miss' ? 'blocked (near miss)' : 'held',
      i.action,
      i.status,
      i.severity,
      i.rules.join('; '),
      who(i.sender),
      i.recipients.length,
      [...new Set(i.recipients.map(who))].join('; '),
      i.potentialBreach ? 'yes' : 'no',
      i.icoDeadline?.toISOString() ?? '',
      i.escalatedAt?.toISOString() ?? '',
      maskFindings(i.findings).map((f) => `${f.where}: ${f.evidence}`).join('; '),
      d ? DECISION_WORDS[d.action] ?? d.action : '',
      d?.actor ?? '',
      d?.at.toISOString() ?? '',
    ].map(csvCell).join(','));
  }
  return `\ufeff${lines.join('\r\n')}\r\n`;
}

/** Reads one line of this CSV back into cells (for tests and tools): quoted cells, "" for a quote. */
export function csvCells(line: string): string[] {
  const cells: string[] = [];
  let i = line.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (i < line.length) {
    if (line[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) throw new Error('unterminated quoted cell');
        v += line.slice(i, q);
        if (line[q + 1] === '"') {
          v += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      cells.push(v);
    } else {
      const c = line.indexOf(',', i);
      cells.push(line.slice(i, c < 0 ? line.length : c));
      i = c < 0 ? line.length : c;
    }
    if (line[i] === ',') {
      i++;
      if (i === line.length) cells.push('');
    }
  }
  return cells;
}
