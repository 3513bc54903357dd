// One model of the message that every rule reads: who the personal data is about, how sensitive
// it is, who receives it and whether they are entitled to it, and how it is protected.
//
// Who it is about. Within one text (the subject, a body, an attachment), a pupil's full name
// names that pupil; once it has appeared, later mentions of the pupil's forename alone (legal or
// preferred) refer to the same pupil ("coreference"). A forename or surname that appears without
// a full name before it stays a weak signal: it never ties special-category data to anyone, never
// counts towards a list of pupils and never makes the message "about" a pupil. When a forename
// alone could be either of two pupils named earlier, it counts as neither.
//
// How sensitive. A special-category term (SEN, health, safeguarding …) or a behaviour or
// attendance term is tied to the nearest named mention within its detector's window, else to an
// identifier or date of birth there (an identified person); an identifier or a date of birth is
// tied to the named pupil beside it. A list or table is a run of rows (lines) that each name a
// pupil in full beside another personal field: plain text, CSV, HTML tables and spreadsheets all
// reach the scanner as lines.
//
// Pure: detections and texts in, model out. No regular expression reads message text here.
import type { Detection } from '../detect/index.ts';
import { DETECTORS } from '../../detectors/index.ts';
import type { Inspection } from '../inspect/index.ts';
import { foldWords } from '../roster/fold.ts';
import type { Roster } from '../roster/index.ts';

export type TextKind = 'subject' | 'body' | 'attachment' | 'file-name';

/** A place in one text where a pupil (or an identified person) is referred to. */
export interface Mention {
  /** Roster ids; empty for an identifier or date of birth that names nobody on the roster. */
  pupilIds: readonly string[];
  start: number;
  end: number;
  how: 'full-name' | 'forename' | 'identifier' | 'date-of-birth';
  /** Redacted, as a person may read it. */
  evidence: string;
}

/** A detection tied to whom it is about. */
export interface Tied {
  detection: Detection;
  /** The mention it was tied to. */
  about: Mention;
}

/** The kinds of personal field a row of a list can hold beside a pupil's name. */
export type FieldKind = 'date of birth' | 'identifier' | 'special-category' | 'contact details' | 'behaviour or attendance';

export interface TextModel {
  where: string;
  kind: TextKind;
  detections: Detection[];
  /** Pupils named in full in this text, with the redacted evidence of their first full mention. */
  named: Map<string, string>;
  /** Full names and coreferenced forenames, identifiers and dates of birth, by position. */
  mentions: Mention[];
  /** Special-category terms tied to a named pupil or an identified person. */
  special: Tied[];
  /** Behaviour and attendance terms tied to a named pupil or an identified person. */
  records: Tied[];
  /** Identifiers and dates of birth beside a named pupil. */
  personal: Tied[];
  /** Validated identifiers (UPN, ULN, NHS, NI …) anywhere in the text. */
  identifiers: Detection[];
  datesOfBirth: Detection[];
  contacts: Detection[];
  /** Pupils on rows of a list or table, with the kinds of personal field beside them. */
  listed: Map<string, Set<FieldKind>>;
}

export interface ModelOptions {
  /** Fewest rows naming different pupils beside a personal field that make a list. */
  listMinPupils: number;
}

/** How far (bytes or characters) from a mention a term may lie and still be about that pupil. */
const windows = new Map<string, number>();
for (const d of DETECTORS) if (d.kind === 'pattern' && d.proximity) windows.set(d.id, d.proximity.window);
const DEFAULT_WINDOW = 300;
/** An identifier or a date of birth is a pupil's when it is this close to their name. */
const PERSONAL_WINDOW = 160;
/** A row of a list is a line no longer than this, naming at most this many pupils. */
const MAX_ROW_CHARS = 400;
const MAX_ROW_PUPILS = 2;

const isNamed = (d: Detection) => d.detector === 'pupil-name' && d.strength === 'strong' && !!d.pupilIds?.length;
const isForenameAlone = (d: Detection) => d.detector === 'pupil-name' && d.strength === 'weak' && (d.nameForm === 'forename' || d.nameForm === 'surname');
export const isIdentifier = (d: Detection) => d.category === 'identifier' && d.validated !== false;

/** Folded single-word keys of a pupil's forenames (legal and preferred). */
function forenameKeys(roster: Roster | undefined, id: string): string[] {
  const p = roster?.pupilById(id);
  if (!p) return [];
  const keys: string[] = [];
  for (const f of [p.legalForename, p.preferredForename]) {
    if (!f) continue;
    const words = foldWords(f);
    if (words.length === 1) keys.push(words[0]);
  }
  return keys;
}

/**
 * The model of one text. `text` is what was scanned (spans index it); without it (a decision
 * replayed from stored findings) forenames are not coreferenced and rows are not found.
 */
export function modelText(where: string, kind: TextKind, text: string | undefined, detections: Detection[], roster: Roster | undefined, opts: ModelOptions): TextModel {
  const model: TextModel = {
    where,
    kind,
    detections,
    named: new Map(),
    mentions: [],
    special: [],
    records: [],
    personal: [],
    identifiers: [],
    datesOfBirth: [],
    contacts: [],
    listed: new Map(),
  };
  const names: Mention[] = [];
  const anchors: Mention[] = []; // identifiers and dates of birth
  const weak: Detection[] = [];
  const terms: Detection[] = [];
  for (const d of detections) {
    if (isNamed(d)) {
      names.push({ pupilIds: d.pupilIds!, start: d.start, end: d.end, how: 'full-name', evidence: d.evidence });
      for (const id of d.pupilIds!) if (!model.named.has(id)) model.named.set(id, d.evidence);
    } else if (isForenameAlone(d)) weak.push(d);
    else if (isIdentifier(d)) {
      model.identifiers.push(d);
      anchors.push({ pupilIds: pupilsOfIdentifier(d, text, roster), start: d.start, end: d.end, how: 'identifier', evidence: d.evidence });
    } else if (d.category === 'date-of-birth') {
      model.datesOfBirth.push(d);
      anchors.push({ pupilIds: [], start: d.start, end: d.end, how: 'date-of-birth', evidence: d.evidence });
    } else if (d.category === 'contact') model.contacts.push(d);
    else if (d.category === 'special-category' || d.category === 'pupil-record') terms.push(d);
  }

  // Coreference: forenames alone that follow the full name of exactly one pupil with that forename.
  if (text !== undefined && weak.length && names.length) names.push(...coreference(text, names, weak, roster));
  names.sort((a, b) => a.start - b.start);
  anchors.sort((a, b) => a.start - b.start);
  model.mentions = [...names, ...anchors].sort((a, b) => a.start - b.start);

  for (const d of terms) {
    const w = windows.get(d.detector) ?? DEFAULT_WINDOW;
    const about = nearest(names, d.start, d.end, w) ?? nearest(anchors, d.start, d.end, w);
    if (!about) continue;
    (d.category === 'special-category' ? model.special : model.records).push({ detection: d, about });
  }
  for (const a of anchors) {
    const about = nearest(names, a.start, a.end, PERSONAL_WINDOW);
    if (!about) continue;
    const d = (a.how === 'identifier' ? model.identifiers : model.datesOfBirth).find((x) => x.start === a.start && x.end === a.end);
    if (d) model.personal.push({ detection: d, about });
  }
  if (text !== undefined) findRows(text, model, names, opts);
  return model;
}

/** The roster pupils a UPN belongs to (read from the text at the finding's span). */
function pupilsOfIdentifier(d: Detection, text: string | undefined, roster: Roster | undefined): readonly string[] {
  if (d.detector !== 'uk-upn' || !roster || text === undefined) return [];
  let upn = '';
  for (const ch of text.slice(d.start, d.end)) if (ch !== ' ') upn += ch.toUpperCase();
  return roster.pupilsByUpn(upn).map((p) => p.id);
}

function coreference(text: string, names: Mention[], weak: Detection[], roster: Roster | undefined): Mention[] {
  // Events in text order: full names introduce pupils, forenames alone may refer to them.
  const events: Array<{ at: number; end: number; name?: Mention; word?: Detection }> = names.map((m) => ({ at: m.start, end: m.end, name: m }));
  for (const d of weak) {
    const spans = d.mentions ?? [d.start, d.end];
    for (let k = 0; k < spans.length; k += 2) events.push({ at: spans[k], end: spans[k + 1], word: d });
  }
  events.sort((a, b) => a.at - b.at);
  const introduced = new Map<string, Set<string>>(); // folded forename → pupils named in full so far
  const keyCache = new Map<string, string>();
  const out: Mention[] = [];
  for (const e of events) {
    if (e.name) {
      for (const id of e.name.pupilIds) {
        for (const key of forenameKeys(roster, id)) {
          let set = introduced.get(key);
          if (!set) introduced.set(key, (set = new Set()));
          set.add(id);
        }
      }
      continue;
    }
    const raw = text.slice(e.at, e.end);
    let key = keyCache.get(raw);
    if (key === undefined) {
      const words = foldWords(raw);
      key = words.length === 1 ? words[0] : '';
      keyCache.set(raw, key);
    }
    const candidates = key ? introduced.get(key) : undefined;
    if (!candidates || candidates.size !== 1) continue; // never named, or could be either of two
    out.push({ pupilIds: [...candidates], start: e.at, end: e.end, how: 'forename', evidence: e.word!.evidence });
  }
  return out;
}

/** The closest mention within `window` of [start, end) (mentions sorted by start). */
function nearest(mentions: Mention[], start: number, end: number, window: number): Mention | undefined {
  let lo = 0;
  let hi = mentions.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (mentions[mid].end < start - window) lo = mid + 1;
    else hi = mid;
  }
  let best: Mention | undefined;
  let bestDist = Infinity;
  for (let k = lo; k < mentions.length && mentions[k].start <= end + window; k++) {
    const m = mentions[k];
    const dist = Math.max(0, m.start - end, start - m.end);
    if (dist <= window && dist < bestDist) {
      best = m;
      bestDist = dist;
    }
  }
  return best;
}

function fieldKind(d: Detection): FieldKind | undefined {
  if (d.category === 'date-of-birth') return 'date of birth';
  if (isIdentifier(d)) return 'identifier';
  if (d.category === 'special-category') return 'special-category';
  if (d.category === 'contact' && d.strength === 'strong') return 'contact details';
  if (d.category === 'pupil-record') return 'behaviour or attendance';
  return undefined;
}

/** Rows: lines naming one or two pupils in full beside a personal field. */
function findRows(text: string, model: TextModel, names: Mention[], opts: ModelOptions): void {
  const full = names.filter((m) => m.how === 'full-name');
  if (full.length < opts.listMinPupils) return;
  const fields = model.detections.filter((d) => fieldKind(d) !== undefined);
  if (!fields.length) return;
  const rows = new Map<string, Set<FieldKind>>();
  let lineEnd = -1;
  let lineStart = 0;
  let f = 0;
  for (let i = 0; i < full.length; i++) {
    const m = full[i];
    if (m.start < lineEnd) continue; // this line was read with an earlier name
    lineStart = text.lastIndexOf('\n', m.start) + 1;
    lineEnd = text.indexOf('\n', m.end);
    if (lineEnd < 0) lineEnd = text.length;
    if (lineEnd - lineStart > MAX_ROW_CHARS) continue;
    const onLine: Mention[] = [];
    for (let j = i; j < full.length && full[j].start < lineEnd; j++) onLine.push(full[j]);
    const pupils = new Set(onLine.flatMap((x) => x.pupilIds));
    if (pupils.size > MAX_ROW_PUPILS) continue;
    while (f < fields.length && fields[f].start < lineStart) f++;
    const kinds = new Set<FieldKind>();
    for (let g = f; g < fields.length && fields[g].start < lineEnd; g++) kinds.add(fieldKind(fields[g])!);
    if (!kinds.size) continue;
    for (const id of pupils) {
      const set = rows.get(id) ?? new Set<FieldKind>();
      for (const k of kinds) set.add(k);
      rows.set(id, set);
    }
  }
  if (rows.size >= opts.listMinPupils) model.listed = rows;
}

/** Every text of the message that was scanned, by where, with what it is. */
export function textsOf(inspection: Inspection): Array<{ where: string; kind: TextKind; text: string }> {
  const out: Array<{ where: string; kind: TextKind; text: string }> = [];
  if (inspection.subject) out.push({ where: 'subject', kind: 'subject', text: inspection.subject });
  for (const t of inspection.texts) out.push({ where: t.where, kind: t.kind, text: t.text });
  return out;
}
