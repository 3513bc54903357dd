// One model of the message that every rule reads: who the personal data is about, how sensitive
// it is, who receives it and whether they are entitled to it, and how it is protected.
//
// Who it is about. Within one text (the subject, a body, an attachment), a pupil's full name
// names that pupil; once it has appeared, later mentions of the pupil's forename alone (legal or
// preferred) refer to the same pupil ("coreference"). A forename or surname that appears without
// a full name before it stays a weak signal (except in a reply typed above the message it quotes,
// where the quoted message names the pupil in full below): it never ties special-category data to anyone, never
// counts towards a list of pupils and never makes the message "about" a pupil. When a forename
// alone could be either of two pupils named earlier, it counts as neither.
//
// How sensitive. A special-category term (SEN, health, safeguarding …) or a behaviour or
// attendance term is tied to the nearest named mention within its detector's window, else to an
// identifier or date of birth there (an identified person). In mail to several people outside
// the school (a newsletter, a class update), a name in another sentence counts only when the
// term's sentence says she or he, the term fills a labelled field ("Medical needs: asthma"), the
// two share a line, or the name is a list item alone on its line ("EpiPens:\n\n- Isla
// Pemberton"): a newsletter's "If your child has asthma, tell the office." is about nobody, not
// the pupil praised or thanked in the sentence before or after. An identifier or a date of birth is
// tied to the named pupil beside it. A list or table is a run of rows (lines) that each name a
// pupil in full beside another personal field: plain text, CSV, HTML tables and spreadsheets all
// reach the scanner as lines.
//
// Pure: detections and texts in, model out. No regular expression reads message text here.
import type { Detection } from '../detect/index.ts';
import { DETECTORS } from '../../detectors/index.ts';
import { writtenAtLeastYearsAgo } from '../../detectors/library/checksums.ts';
import type { Inspection, TextLike } from '../inspect/index.ts';
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
  /** The finding it was made from (its redacted evidence is worked out only when read). */
  source: Detection;
}

/** A detection tied to whom it is about. */
export interface Tied {
  detection: Detection;
  /** The mention it was tied to. */
  about: Mention;
  /** In an attachment's text, the term is the value of a labelled field of a record ("Medical: asthma" under "Name: Isla Pemberton"); false elsewhere. */
  field: boolean;
}

/** The kinds of personal field a row of a list can hold beside a pupil's name. */
export type FieldKind = 'date of birth' | 'identifier' | 'special-category' | 'contact details' | 'behaviour or attendance';

export interface TextModel {
  where: string;
  kind: TextKind;
  detections: Detection[];
  /** Pupils named in full in this text, with their first full mention. */
  named: Map<string, Detection>;
  /** Full names and coreferenced forenames, by position. */
  names: Mention[];
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
  /**
   * The message goes to several people outside the school (a newsletter, a class update): a term
   * is then tied to a name in another sentence only as modelText says.
   */
  broadcast?: boolean;
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
/**
 * A number whose check digit happens to fit (a detector marked fitsByChance: an NHS number, a
 * ULN, a Scottish Candidate Number; one number in eleven fits each) with nothing beside it saying
 * what it is (the detector scores it weak, below 0.5): as often an order, invoice or booking
 * reference as a pupil's number. Such numbers
 * are identifiers only two or more at once (BARE_COLUMN different numbers in one text), or
 * beside a pupil's name, in full or by forename alone ("Isla's number: 4010232137").
 */
const fitsByChance = new Set<string>();
for (const d of DETECTORS) if (d.kind === 'pattern' && d.fitsByChance) fitsByChance.add(d.id);
const isBare = (d: Detection) => fitsByChance.has(d.detector) && d.strength === 'weak' && d.score < 0.5;
const BARE_COLUMN = 2;

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
export function modelText(where: string, kind: TextKind, text: TextLike | undefined, detections: Detection[], roster: Roster | undefined, opts: ModelOptions): TextModel {
  const model: TextModel = {
    where,
    kind,
    detections,
    named: new Map(),
    names: [],
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
  /** Bare numbers (isBare) too few to be a column: identifiers only beside a pupil's name. */
  const bare: Mention[] = [];
  // Different numbers: one that fits both an NHS number's and a ULN's check digit is one number.
  const bareSpans = new Set<number>();
  // (Indexed loops over findings here and below: a class list has hundreds of thousands, and
  // for…of allocated an iterator result for each in the code V8 made of these long loops.)
  for (let k = 0; k < detections.length; k++) {
    const d = detections[k];
    if (isIdentifier(d) && isBare(d)) bareSpans.add(d.start);
  }
  const bareCount = bareSpans.size;
  for (let k = 0; k < detections.length; k++) {
    const d = detections[k];
    if (isNamed(d)) {
      names.push({ pupilIds: d.pupilIds!, start: d.start, end: d.end, how: 'full-name', source: d });
      const ids = d.pupilIds!;
      for (let q = 0; q < ids.length; q++) if (!model.named.has(ids[q])) model.named.set(ids[q], d);
    } else if (isForenameAlone(d)) weak.push(d);
    else if (isIdentifier(d)) {
      const mention: Mention = { pupilIds: NOBODY, start: d.start, end: d.end, how: 'identifier', source: d };
      if (isBare(d) && bareCount < BARE_COLUMN) {
        bare.push(mention);
        continue;
      }
      model.identifiers.push(d);
      anchors.push(mention);
    } else if (d.category === 'date-of-birth') {
      model.datesOfBirth.push(d);
      anchors.push({ pupilIds: NOBODY, start: d.start, end: d.end, how: 'date-of-birth', source: d });
    } else if (d.category === 'contact') model.contacts.push(d);
    else if (d.category === 'special-category' || d.category === 'pupil-record') terms.push(d);
  }
  byStart(names);
  byStart(anchors);
  byStart(bare);

  // A name in apposition to a professional's role ("contact our Education Welfare Officer, Siân
  // Evans, on …") is that professional, whoever on the roster shares it: nothing in the text is
  // tied to it. A heading, a note or a sentence naming a role beside a pupil ("DSL: Jack Hill
  // disclosed…", "As agreed with the DSL, Henry will…") is not apposition (inApposition).
  if (text !== undefined && names.length) {
    const roles = terms.filter((d) => isRole(text.slice(d.start, d.end)));
    if (roles.length) {
      const kept = names.filter((m) => !roles.some((r) => inApposition(text, m, r)));
      if (kept.length !== names.length) names.splice(0, names.length, ...kept);
    }
  }

  // Coreference: forenames alone that follow the full name of exactly one pupil with that forename.
  model.names = text !== undefined && weak.length && names.length ? mergeByStart(names, coreference(text, names, weak, roster)) : names;

  const resolved = new Set<Mention>();
  // To several people outside the school: a name in another sentence only when the term's
  // sentence speaks of one person ("She has a severe nut allergy"), the term fills a labelled
  // field ("Allergies: nuts"), the two share a line, or the name is an item of a list (alone on
  // its line: "Pupils with asthma.\n- Isla Pemberton (6P)").
  const sameThought =
    text === undefined || !opts.broadcast
      ? undefined
      : (d: Detection, m: Mention) =>
          (m.start >= d.end ? !sentenceEndsBetween(text, d.end, m.start) : m.end > d.start || !sentenceEndsBetween(text, m.end, d.start)) ||
          inLabelledField(text, d.start) ||
          sentenceSaysWho(text, d.start, d.end) ||
          onOneLine(text, Math.min(d.start, m.start), Math.max(d.end, m.end)) ||
          aloneOnItsLine(text, m.start, m.end);
  for (let k = 0; k < terms.length; k++) {
    const d = terms[k];
    const w = windows.get(d.detector) ?? DEFAULT_WINDOW;
    let about = nearest(model.names, d.start, d.end, w, sameThought && ((m) => sameThought(d, m)));
    if (!about) {
      about = nearest(anchors, d.start, d.end, w, sameThought && ((m) => sameThought(d, m)));
      if (!about) continue;
      // Whose UPN is it? Looked up only for identifiers that data is tied to.
      if (!resolved.has(about)) {
        resolved.add(about);
        about.pupilIds = pupilsOfIdentifier(about.source, text, roster);
      }
    }
    // Read only by the attachment rule: not looked up for the body's terms (a pasted class list has thousands).
    const field = kind === 'attachment' && text !== undefined && inLabelledField(text, d.start);
    (d.category === 'special-category' ? model.special : model.records).push({ detection: d, about, field });
  }
  const tied = bare.length ? mergeByStart(anchors, bare) : anchors;
  for (let k = 0; k < tied.length; k++) {
    const a = tied[k];
    let about = nearest(model.names, a.start, a.end, PERSONAL_WINDOW);
    // A date of birth too old to be a pupil's is a namesake's ("Dylan Thomas was born on 27
    // October 1914"), not the pupil of that name on the roster.
    if (about && a.how === 'date-of-birth' && text !== undefined && !couldBePupilsBirth(text.slice(a.start, a.end))) about = undefined;
    if (bare.includes(a)) {
      // Near a pupil's name (or a forename alone, which ties nothing else), as near as a term
      // would be tied, a number that fits is theirs: "Isla Pemberton joined us … Her number is …".
      if (nearest(model.names, a.start, a.end, DEFAULT_WINDOW) || weak.some((w) => nearMention(w, a, DEFAULT_WINDOW))) model.identifiers.push(a.source);
    }
    if (about) model.personal.push({ detection: a.source, about, field: false });
  }
  if (text !== undefined) findRows(text, model, names, opts);
  return model;
}

/** Vocabulary terms that are a professional's role (folded words), in English and Welsh. */
const ROLES = new Set([
  'education welfare officer', 'ewo', 'attendance officer', 'educational psychologist', 'seicolegydd addysg', 'social worker',
  'gweithiwr cymdeithasol', 'gweithwraig gymdeithasol', 'senco', 'sendco', 'alnco', 'dsl', 'lado', 'swyddog lles addysg',
]);

/** Is the term as written a role? (Folded only when written with more than single spaces: a class list has thousands of terms.) */
function isRole(written: string): boolean {
  const lower = written.toLowerCase();
  if (ROLES.has(lower)) return true;
  return (lower.includes('  ') || lower.includes('-') || lower.includes('\n') || lower.includes('\t') || lower.includes('\u00a0')) && ROLES.has(foldWords(lower).join(' '));
}

/** A word before a role that makes it a title in apposition: "our Education Welfare Officer, Siân Evans". */
const ROLE_DETERMINERS = new Set(['our', 'the', 'your', 'their', 'a', 'an', 'ein', 'eich', 'yr', 'y']);

/**
 * Is the role in apposition to the name: "our Education Welfare Officer, Siân Evans, on 01970 …"?
 * The role follows "our", "the", "your"…, a comma and a space stand between them, and the name
 * ends its clause (a comma, a full stop, a bracket, the line's end): "the DSL, Henry Okafor will
 * not go home…" is a sentence about Henry. A role after a name is never taken ("Jack Hill,
 * educational psychologist" is as often a referral list's line as a signature's).
 */
function inApposition(text: TextLike, name: Mention, role: Detection): boolean {
  if (role.end > name.start || text.slice(role.end, name.start) !== ', ') return false;
  const words = foldWords(text.slice(Math.max(0, role.start - 24), role.start));
  if (!words.length || !ROLE_DETERMINERS.has(words[words.length - 1])) return false;
  const next = text.slice(name.end, name.end + 2);
  return next === '' || next === ' (' || ',.;)\n\r'.includes(next[0]);
}

/** Pupils are under 25: a school's oldest learners (sixth form, special schools to 25). */
const OLDEST_PUPIL_YEARS = 25;

function couldBePupilsBirth(written: string): boolean {
  return !writtenAtLeastYearsAgo(written, OLDEST_PUPIL_YEARS);
}

/** The roster pupils a UPN belongs to (read from the text at the finding's span). */
function pupilsOfIdentifier(d: Detection, text: TextLike | undefined, roster: Roster | undefined): readonly string[] {
  if (d.detector !== 'uk-upn' || !roster || text === undefined) return [];
  let upn = '';
  for (const ch of text.slice(d.start, d.end)) if (ch !== ' ') upn += ch.toUpperCase();
  return roster.pupilsByUpn(upn).map((p) => p.id);
}

const NOBODY: readonly string[] = Object.freeze([]);

/** Mentions in text order (most arrive in order already). */
function byStart(list: Mention[]): void {
  for (let i = 1; i < list.length; i++) {
    if (list[i - 1].start > list[i].start) {
      list.sort((a, b) => a.start - b.start);
      return;
    }
  }
}

function mergeByStart(a: Mention[], b: Mention[]): Mention[] {
  if (!b.length) return a;
  const out: Mention[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(b[j].start < a[i].start ? b[j++] : a[i++]);
  while (i < a.length) out.push(a[i++]);
  while (j < b.length) out.push(b[j++]);
  return out;
}

/** Folded forenames per pupil, per roster (a class list names the same pupils again and again). */
const forenameCache = new WeakMap<Roster, Map<string, string[]>>();

function forenamesOf(roster: Roster | undefined, id: string): string[] {
  if (!roster) return [];
  let cache = forenameCache.get(roster);
  if (!cache) forenameCache.set(roster, (cache = new Map()));
  let keys = cache.get(id);
  if (!keys) {
    keys = forenameKeys(roster, id);
    cache.set(id, keys);
  }
  return keys;
}

/** Where the reply's own text ends: the first line that starts a quoted message. */
const QUOTE_MARKERS = ['\n-----Original Message-----', '\n________________________________', '\nFrom:', '\n>', ' wrote:\n'];
/** Searched for within the first this many characters (the reply is typed above). */
const QUOTE_SEARCH = 64 * 1024;

/** Where a quoted message starts in a reply (Outlook's rule or header block, Gmail's "… wrote:", "> " lines); Infinity when none. */
function quotedMessageStart(text: TextLike): number {
  const head = text.slice(0, QUOTE_SEARCH);
  let first = Infinity;
  for (const marker of QUOTE_MARKERS) {
    const at = head.indexOf(marker);
    if (at >= 0 && at < first) first = at;
  }
  return first;
}

/**
 * Forenames alone that refer to a pupil named in full earlier in the same text. For each folded
 * forename, the pupils with that forename in the order their full name first appears; each
 * occurrence of the forename alone refers to the one pupil introduced before it, or to nobody
 * when there is none or more than one; above a quoted message, to the one pupil of that forename
 * the quoted message names in full. Linear in names and occurrences (no sorting): a single
 * finding holds every occurrence of one word, in order.
 */
function coreference(text: TextLike, names: Mention[], weak: Detection[], roster: Roster | undefined): Mention[] {
  // Folded forename → [first position, pupil id, …] in text order.
  const introductions = new Map<string, Array<number | string>>();
  const seen = new Set<string>();
  for (let k = 0; k < names.length; k++) {
    const m = names[k];
    for (let q = 0; q < m.pupilIds.length; q++) {
      const id = m.pupilIds[q];
      if (seen.has(id)) continue;
      seen.add(id);
      for (const key of forenamesOf(roster, id)) {
        const list = introductions.get(key);
        if (list) list.push(m.start, id);
        else introductions.set(key, [m.start, id]);
      }
    }
  }
  const out: Mention[] = [];
  let quoted: number | undefined;
  for (let w = 0; w < weak.length; w++) {
    const d = weak[w];
    const words = foldWords(text.slice(d.start, d.end));
    const list = words.length === 1 ? introductions.get(words[0]) : undefined;
    if (!list) continue;
    const at = d.mentions ?? [d.start, d.end];
    let introduced = 0; // how many pupils with this forename are named before the occurrence
    for (let k = 0; k < at.length; k += 2) {
      while (introduced < list.length / 2 && (list[2 * introduced] as number) < at[k]) introduced++;
      if (introduced === 0 && list.length === 2) {
        // A reply typed above the message it quotes: the forename in the reply is the one pupil
        // of that forename the quoted message names in full ("Isla had another seizure" above
        // "how has Isla Pemberton been this week?").
        quoted ??= quotedMessageStart(text);
        if (quoted > at[k + 1] && (list[0] as number) > quoted) out.push({ pupilIds: [list[1] as string], start: at[k], end: at[k + 1], how: 'forename', source: d });
        continue;
      }
      if (introduced !== 1) {
        if (introduced > 1) break; // from here on it could always be either
        continue;
      }
      out.push({ pupilIds: [list[1] as string], start: at[k], end: at[k + 1], how: 'forename', source: d });
    }
  }
  byStart(out);
  return out;
}

/** Words a full stop follows without ending the sentence ("approx. six months", "e.g. Ventolin", "Dr. Khan"). */
const ABBREVIATIONS = new Set(['approx', 'eg', 'e.g', 'ie', 'i.e', 'etc', 'dr', 'mr', 'mrs', 'ms', 'miss', 'mx', 'st', 'no', 'nos', 'vs', 'incl', 'dept', 'tel', 'ref', 'fig', 'yr', 'yrs', 'wk', 'wks', 'min', 'mins', 'max', 'prof', 'rev', 'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec']);

/**
 * Whether a sentence ends in text[from, to): a blank line (a new paragraph; not under a heading
 * that ends with a colon), or '.', '!' or '?'
 * before a space or a line end, except a full stop after an abbreviation or an initial, or one
 * the next word goes on after in small letters. A single line end is no sentence end: plain text
 * wraps at 76 characters, HTML source and PDF text break lines mid-sentence, and a heading
 * ("Pupils with asthma") stands over the list under it.
 */
function sentenceEndsBetween(text: TextLike, from: number, to: number): boolean {
  const between = text.slice(from, to);
  let blankSoFar = false; // only spaces since the last line end
  let lastVisible = '';
  for (let i = 0; i < between.length; i++) {
    const ch = between[i];
    if (ch === '\n') {
      // A blank line, unless under a heading that ends with a colon ("Pupils with an EpiPen:").
      if (blankSoFar && lastVisible !== ':') return true;
      blankSoFar = true;
      continue;
    }
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\u00a0') continue;
    blankSoFar = false;
    lastVisible = ch;
    if (ch !== '.' && ch !== '!' && ch !== '?') continue;
    const next = between[i + 1];
    if (next !== ' ' && next !== '\n' && next !== '\t' && next !== '\r') continue;
    if (ch === '.' && !endsSentence(text, from + i)) continue;
    return true;
  }
  return false;
}

/** Whether the full stop at `at` ends a sentence: not after an abbreviation or an initial, nor with the text going on in small letters. */
function endsSentence(text: TextLike, at: number): boolean {
  let start = at;
  while (start > 0 && at - start < 8 && !isSpaceChar(text.slice(start - 1, start))) start--;
  const word = text.slice(start, at).toLowerCase();
  if (word.length === 1 || ABBREVIATIONS.has(word)) return false;
  const after = text.slice(at + 1, at + 40).trimStart();
  const first = after[0] ?? '';
  return !(first >= 'a' && first <= 'z');
}

const isSpaceChar = (c: string) => c === ' ' || c === '\n' || c === '\t' || c === '\r' || c === '(' || c === '\u00a0';

/**
 * Whether the term at `at` is the value of a labelled field: its line starts with a short label
 * (four words at most, no full stop) and a colon, and the term starts the value ("Medical:
 * asthma", "SEN status: EHCP").
 */
function inLabelledField(text: TextLike, at: number): boolean {
  const lineStart = text.lastIndexOf('\n', at - 1) + 1;
  const head = text.slice(lineStart, at);
  const colon = head.indexOf(':');
  if (colon <= 0 || colon > 30) return false;
  const label = head.slice(0, colon).trim();
  if (!label || label.includes('.')) return false;
  let words = 1;
  for (const ch of label) if (ch === ' ') words++;
  // The term starts the value ("Allergies: severe nut allergy"), not a sentence after a heading
  // ("Attendance: Congratulations to 5K, whose attendance…").
  const value = head.slice(colon + 1);
  return words <= 4 && value.length <= 16 && !value.includes(',') && !value.includes('.');
}

/** Whether text[from, to) has no line end in it. */
function onOneLine(text: TextLike, from: number, to: number): boolean {
  const at = text.indexOf('\n', from);
  return at < 0 || at >= to;
}

/** Whether the name at [start, end) is alone on its line but for a bullet, a number, a class or a short label ("- Isla Pemberton (6P)", "Name - Isla Pemberton"). */
function aloneOnItsLine(text: TextLike, start: number, end: number): boolean {
  const lineStart = text.lastIndexOf('\n', start - 1) + 1;
  let lineEnd = text.indexOf('\n', end);
  if (lineEnd < 0) lineEnd = text.length;
  if (lineEnd - lineStart > 80) return false;
  let letters = 0;
  for (const ch of text.slice(lineStart, start) + text.slice(end, lineEnd)) if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) letters++;
  return letters <= 6;
}

/**
 * Words that carry a sentence on about one person named beside it ("they" and "them" are as often
 * "your child"), with Welsh's prepositions that carry the person: ganddi/ganddo (she/he has),
 * iddi/iddo (to her/him), arni/arno (on her/him: "mae arni angen" she needs), ohoni/ohono (of
 * her/him). Welsh "hi" (she) is left out: it is an English greeting.
 */
const PRONOUNS = new Set(['she', 'he', 'her', 'his', 'him', 'hers', 'ganddi', 'ganddo', 'iddi', 'iddo', 'arni', 'arno', 'ohoni', 'ohono']);

/** Whether the sentence holding text[start, end) has a personal pronoun (its part within 200 characters either side). */
function sentenceSaysWho(text: TextLike, start: number, end: number): boolean {
  const before = text.slice(Math.max(0, start - 200), start);
  let from = 0;
  for (let i = before.length - 2; i >= 0; i--) {
    const ch = before[i];
    if ((ch === '.' || ch === '!' || ch === '?' || ch === '\n') && (before[i + 1] === ' ' || before[i + 1] === '\n')) {
      from = i + 1;
      break;
    }
  }
  let sentence = before.slice(from);
  const after = text.slice(end, end + 200);
  let to = after.length;
  for (let i = 0; i < after.length; i++) {
    const ch = after[i];
    if (ch === '.' || ch === '!' || ch === '?' || ch === '\n') {
      to = i;
      break;
    }
  }
  sentence += ' ' + after.slice(0, to);
  let word = '';
  for (const ch of sentence.toLowerCase() + ' ') {
    if (ch >= 'a' && ch <= 'z') word += ch;
    else {
      if (PRONOUNS.has(word)) return true;
      word = '';
    }
  }
  return false;
}

/** Whether any occurrence of a forename or surname alone lies within `window` of the span. */
function nearMention(d: Detection, span: { start: number; end: number }, window: number): boolean {
  const at = d.mentions ?? [d.start, d.end];
  for (let k = 0; k < at.length; k += 2) if (Math.max(0, at[k] - span.end, span.start - at[k + 1]) <= window) return true;
  return false;
}

/** The closest mention within `window` of [start, end) (mentions sorted by start). */
function nearest(mentions: Mention[], start: number, end: number, window: number, admits?: (m: Mention) => boolean): Mention | undefined {
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
    if (dist <= window && dist < bestDist && (!admits || admits(m))) {
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
function findRows(text: TextLike, model: TextModel, full: Mention[], opts: ModelOptions): void {
  if (full.length < opts.listMinPupils) return;
  const fields: Detection[] = [];
  for (let k = 0; k < model.detections.length; k++) if (fieldKind(model.detections[k]) !== undefined) fields.push(model.detections[k]);
  if (!fields.length) return;
  if (fields.some((d, k) => k > 0 && fields[k - 1].start > d.start)) fields.sort((a, b) => a.start - b.start);
  const rows = new Map<string, Set<FieldKind>>();
  let f = 0;
  let i = 0;
  while (i < full.length) {
    const m = full[i];
    const lineStart = text.lastIndexOf('\n', m.start) + 1;
    let lineEnd = text.indexOf('\n', m.end);
    if (lineEnd < 0) lineEnd = text.length;
    // Every name on this line.
    let j = i + 1;
    while (j < full.length && full[j].start < lineEnd) j++;
    const first = i;
    i = j;
    if (lineEnd - lineStart > MAX_ROW_CHARS || j - first > MAX_ROW_PUPILS * 2) continue;
    const pupils = j - first === 1 ? full[first].pupilIds : [...new Set(full.slice(first, j).flatMap((x) => x.pupilIds))];
    if (pupils.length > MAX_ROW_PUPILS) continue;
    while (f < fields.length && fields[f].start < lineStart) f++;
    for (let g = f; g < fields.length && fields[g].start < lineEnd; g++) {
      const kind = fieldKind(fields[g])!;
      for (let q = 0; q < pupils.length; q++) {
        const id = pupils[q];
        const set = rows.get(id);
        if (set) set.add(kind);
        else rows.set(id, new Set([kind]));
      }
    }
  }
  if (rows.size >= opts.listMinPupils) model.listed = rows;
}

/** Every text of the message that was scanned, by where, with what it is. */
export function textsOf(inspection: Inspection): Array<{ where: string; kind: TextKind; text: TextLike }> {
  const out: Array<{ where: string; kind: TextKind; text: TextLike }> = [];
  if (inspection.subject) out.push({ where: 'subject', kind: 'subject', text: inspection.subject });
  for (const t of inspection.texts) out.push({ where: t.where, kind: t.kind, text: t.utf8 ?? t.text });
  return out;
}
