// A detector written as data (YAML or JSON), in the spirit of gitleaks' [[rules]] and Presidio's
// YAML recognizers: patterns (RE2), a prefilter, a checksum chosen by name, context words with
// their window, a declarative score, a redaction shape by name, and the examples that prove it.
// The shipped vocabulary detectors are documents like this (detectors/*.yaml); a school adds its
// own under `detectors:` in its configuration. Detectors that need code (byte-level fast paths,
// scores that depend on the match's shape) stay TypeScript, beside them.
//
//   - id: la-case-reference
//     description: A children's services case reference from the county's case system
//     category: identifier
//     patterns: ['\bCSC-[0-9]{7}\b']
//     context: { words: [case, referral], before: 60, after: 20 }
//     score: { base: 0.7, context: 0.3 }
//     examples:
//       match: ['Referral under case CSC-1234567 was accepted']
//       no_match: ['CSC-123', 'XCSC-1234567']
import RE2 from 're2';
import { compact, isValidNhsNumber, isValidNiNumber, isValidUln, isValidUpn } from './checksums.ts';
import { redactAll, redactIdentifier, redactName } from './redact.ts';
import { strong, weak } from './score.ts';
import type { DetectorExample, MatchInfo, PatternDetector } from './types.ts';
import { vocabularyDetector } from './vocabulary.ts';

/** Checksums a document may name; each takes the matched value (spaces and hyphens ignored). */
export const CHECKSUMS: Record<string, (value: string) => boolean> = {
  /** DfE Unique Pupil Number: mod-23 check letter. */
  'upn-mod23': (v) => isValidUpn(compact(v).toUpperCase()),
  /** Unique Learner Number (LRS): mod-11 check digit. */
  'uln-mod11': (v) => isValidUln(compact(v)),
  /** NHS number and other mod-11 numbers with weights 10..2 and a check digit. */
  mod11: (v) => isValidNhsNumber(compact(v)),
  /** HMRC National Insurance number prefix and suffix rules. */
  'ni-number': (v) => isValidNiNumber(compact(v).toUpperCase()),
  /** Luhn over the value's digits (card numbers, many staff and membership numbers). */
  luhn: (v) => luhn(digitsOf(v)),
  /** ISO 7064 mod 97-10 as IBAN uses it (letters count as 10–35; a leading country code and check digits move to the end). */
  mod97: (v) => mod97(compact(v)),
};

/** Redaction shapes a document may name. */
export const REDACTIONS = ['identifier', 'all', 'name', 'term'] as const;
type Redaction = (typeof REDACTIONS)[number];

const CATEGORY_TEXT = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const KEBAB = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const TOP_KEYS = ['id', 'description', 'category', 'topic', 'reason', 'patterns', 'vocabulary', 'case_sensitive', 'keywords', 'keyword_window', 'prefilter',
  'min_digits', 'checksum', 'context', 'requires_context', 'score', 'redact', 'examples'];

export interface DocumentOptions {
  /** Where the document came from, for `detectors list` ("shipped", "config: school.yaml"). */
  origin: string;
  /** Key path prefix for problems ("detectors[0]"). */
  path: string;
}

/** A detector from a document, with where it came from. */
export interface DocumentDetector extends PatternDetector {
  origin: string;
}

/**
 * Reads one detector document. Every problem is reported with its key path (so the IT lead fixes
 * them all at once); undefined when there were any.
 */
export function detectorFromDocument(doc: unknown, opts: DocumentOptions, problems: string[]): DocumentDetector | undefined {
  const before = problems.length;
  const at = (key: string) => `${opts.path}.${key}`;
  const bad = (key: string, what: string) => problems.push(`${at(key)}: ${what}`);
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    problems.push(`${opts.path}: expected a mapping (id:, description:, patterns: …)`);
    return undefined;
  }
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d)) if (!TOP_KEYS.includes(k)) bad(k, `unknown key (known keys here: ${TOP_KEYS.join(', ')})`);

  const text = (key: string, optional = false): string | undefined => {
    const v = d[key];
    if (v === undefined || v === null) {
      if (!optional) bad(key, 'missing');
      return undefined;
    }
    if (typeof v !== 'string' || !v.trim()) {
      bad(key, 'expected text');
      return undefined;
    }
    return v.trim();
  };
  const words = (v: unknown, key: string): string[] => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((w) => typeof w !== 'string' || !w.trim())) {
      bad(key, 'expected a list of words');
      return [];
    }
    return (v as string[]).map((w) => w.trim());
  };
  const num = (v: unknown, key: string, min: number, max: number, dflt: number): number => {
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      bad(key, `expected a number from ${min} to ${max}`);
      return dflt;
    }
    return v;
  };
  const mapping = (key: string, known: string[]): Record<string, unknown> | undefined => {
    const v = d[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) {
      bad(key, 'expected a mapping');
      return undefined;
    }
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!known.includes(k)) bad(`${key}.${k}`, `unknown key (known keys here: ${known.join(', ')})`);
    return o;
  };

  const id = text('id');
  if (id && !KEBAB.test(id)) bad('id', `"${id}" must be lower-case words joined by hyphens (la-case-reference)`);
  const description = text('description');
  const vocabulary = mapping('vocabulary', ['terms', 'acronyms', 'not', 'near_pupil']);
  const category = text('category', vocabulary !== undefined) ?? 'special-category';
  if (!CATEGORY_TEXT.test(category)) bad('category', `"${category}" must be lower-case words joined by hyphens`);
  const topic = text('topic', true);
  const reasonText = text('reason', true);
  const examples = readExamples(d.examples, at('examples'), problems);

  if (vocabulary) {
    if (d.patterns !== undefined) bad('patterns', 'give either patterns or vocabulary, not both');
    const terms = words(vocabulary.terms, 'vocabulary.terms');
    const acronyms = words(vocabulary.acronyms, 'vocabulary.acronyms');
    const not = words(vocabulary.not, 'vocabulary.not');
    if (!terms.length && !acronyms.length) bad('vocabulary', 'needs terms or acronyms');
    const window = num(vocabulary.near_pupil, 'vocabulary.near_pupil', 20, 2000, 300);
    if (problems.length > before || !id || !description || !examples) return undefined;
    const v = vocabularyDetector({ id, description, topic: topic ?? description, terms, acronyms, not, window, examples, category: category as 'special-category' });
    return { ...v, category: category as PatternDetector['category'], reason: reasonText ? () => reasonText : v.reason, origin: opts.origin };
  }

  const patterns = words(d.patterns, 'patterns');
  if (d.patterns === undefined) bad('patterns', 'missing (or give vocabulary: terms and acronyms)');
  const caseSensitive = d.case_sensitive === undefined ? false : d.case_sensitive === true ? true : d.case_sensitive === false ? false : (bad('case_sensitive', 'expected true or false'), false);
  patterns.forEach((src, i) => {
    try {
      new RE2(src, caseSensitive ? 'g' : 'gi');
    } catch (err) {
      bad(`patterns[${i}]`, `does not compile with RE2 (no look-around or back-references): ${(err as Error).message}`);
    }
    if (src.includes('(?P<value>') && !src.endsWith(')')) bad(`patterns[${i}]`, 'a (?P<value>…) group must end the pattern');
  });
  const keywords = words(d.keywords, 'keywords');
  if (d.keywords !== undefined && !keywords.length) bad('keywords', 'give at least one word, or leave keywords out to read around digits');
  if (d.prefilter !== undefined && d.prefilter !== 'digits') bad('prefilter', 'expected digits (or give keywords instead)');
  // Without keywords, the patterns are read around words holding digits: a reference number.
  const prefilter: 'digits' | undefined = keywords.length ? undefined : 'digits';
  const minDigits = num(d.min_digits, 'min_digits', 1, 12, 6);
  const kw = mapping('keyword_window', ['before', 'after']);
  const keywordWindow = kw ? { before: num(kw.before, 'keyword_window.before', 0, 1000, 64), after: num(kw.after, 'keyword_window.after', 0, 1000, 64) } : undefined;
  let checksum: ((v: string) => boolean) | undefined;
  const checksumName = text('checksum', true);
  if (checksumName) {
    checksum = CHECKSUMS[checksumName];
    if (!checksum) bad('checksum', `"${checksumName}" is not one of ${Object.keys(CHECKSUMS).join(', ')}`);
  }
  const ctx = mapping('context', ['words', 'before', 'after']);
  const context = ctx
    ? { words: words(ctx.words, 'context.words'), before: num(ctx.before, 'context.before', 0, 1000, 40), after: num(ctx.after, 'context.after', 0, 1000, 20) }
    : undefined;
  if (ctx && !context!.words.length) bad('context.words', 'missing');
  let requiresContext: 'near' | 'text' | undefined;
  if (d.requires_context !== undefined) {
    if (d.requires_context === 'near' || d.requires_context === 'text') requiresContext = d.requires_context;
    else bad('requires_context', 'expected near or text');
    if (!context) bad('requires_context', 'needs context: words');
  }
  const sc = mapping('score', ['base', 'context', 'validated', 'strong_at', 'report_at']);
  const score = {
    base: num(sc?.base, 'score.base', 0, 1, 0.8),
    context: num(sc?.context, 'score.context', 0, 1, 0),
    validated: num(sc?.validated, 'score.validated', 0, 1, 0),
    strongAt: num(sc?.strong_at, 'score.strong_at', 0, 1, 0.7),
    reportAt: num(sc?.report_at, 'score.report_at', 0, 1, 0.5),
  };
  const redaction = readRedaction(d.redact, at('redact'), problems);
  if (!patterns.length && d.patterns !== undefined) bad('patterns', 'needs at least one pattern');
  if (problems.length > before || !id || !description || !examples) return undefined;

  const reason = reasonText ?? description;
  return {
    kind: 'pattern',
    id,
    description,
    category: category as PatternDetector['category'],
    topic: topic ?? description,
    patterns,
    caseSensitive,
    keywords: keywords.length ? keywords : undefined,
    keywordWindow,
    prefilter,
    minDigits: prefilter ? minDigits : undefined,
    validate: checksum ? (v) => checksum!(v) : undefined,
    requiresContext,
    context,
    score: (m: MatchInfo) => {
      if (m.validated === false) return null;
      const s = Math.min(1, score.base + (m.contextNear ? score.context : 0) + (m.validated === true ? score.validated : 0));
      if (s < score.reportAt) return null;
      return s >= score.strongAt ? strong(s) : weak(s);
    },
    redact: redactor(redaction),
    reason: () => reason,
    examples,
    origin: opts.origin,
  };
}

function readRedaction(v: unknown, key: string, problems: string[]): { shape: Redaction; keep: number } {
  if (v === undefined || v === null) return { shape: 'identifier', keep: 4 };
  if (typeof v === 'string') {
    if ((REDACTIONS as readonly string[]).includes(v)) return { shape: v as Redaction, keep: 4 };
    problems.push(`${key}: expected one of ${REDACTIONS.join(', ')}`);
    return { shape: 'identifier', keep: 4 };
  }
  if (typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) if (k !== 'shape' && k !== 'keep') problems.push(`${key}.${k}: unknown key (known keys here: shape, keep)`);
    const shape = typeof o.shape === 'string' && (REDACTIONS as readonly string[]).includes(o.shape) ? (o.shape as Redaction) : undefined;
    if (!shape) problems.push(`${key}.shape: expected one of ${REDACTIONS.join(', ')}`);
    const keep = o.keep === undefined ? 4 : typeof o.keep === 'number' && o.keep >= 0 && o.keep <= 8 ? o.keep : (problems.push(`${key}.keep: expected a number from 0 to 8`), 4);
    return { shape: shape ?? 'identifier', keep };
  }
  problems.push(`${key}: expected one of ${REDACTIONS.join(', ')}`);
  return { shape: 'identifier', keep: 4 };
}

function redactor(r: { shape: Redaction; keep: number }): (value: string) => string {
  switch (r.shape) {
    case 'all':
      return redactAll;
    case 'name':
      return redactName;
    case 'term':
      return (v) => v;
    default:
      return (v) => redactIdentifier(v, r.keep);
  }
}

function readExamples(v: unknown, key: string, problems: string[]): PatternDetector['examples'] | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    problems.push(`${key}: missing: give examples: { match: [...], no_match: [...] } (a detector proves itself)`);
    return undefined;
  }
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'match' && k !== 'no_match') problems.push(`${key}.${k}: unknown key (known keys here: match, no_match)`);
  const match: Array<string | DetectorExample> = [];
  if (!Array.isArray(o.match) || !o.match.length) problems.push(`${key}.match: needs at least one text the detector must find`);
  else {
    o.match.forEach((m, i) => {
      if (typeof m === 'string') match.push(m);
      else if (m && typeof m === 'object' && typeof (m as { text?: unknown }).text === 'string') {
        const e = m as { text: string; strength?: unknown; value?: unknown };
        if (e.strength !== undefined && e.strength !== 'strong' && e.strength !== 'weak') problems.push(`${key}.match[${i}].strength: expected strong or weak`);
        match.push({ text: e.text, strength: e.strength as DetectorExample['strength'], value: typeof e.value === 'string' ? e.value : undefined });
      } else problems.push(`${key}.match[${i}]: expected text, or { text, strength, value }`);
    });
  }
  const noMatch: string[] = [];
  if (!Array.isArray(o.no_match) || !o.no_match.length) problems.push(`${key}.no_match: needs at least one text the detector must not find`);
  else o.no_match.forEach((t, i) => (typeof t === 'string' ? noMatch.push(t) : problems.push(`${key}.no_match[${i}]: expected text`)));
  return { match, noMatch };
}

function digitsOf(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) out += s[i];
  }
  return out;
}

function isDigits(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return s.length >= 2;
}

/** Matched values are message text: checked by character, never by JavaScript RegExp. */
function luhn(digits: string): boolean {
  if (!isDigits(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let n = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      n *= 2;
      if (n > 9) n -= 9;
    }
    sum += n;
  }
  return sum % 10 === 0;
}

function mod97(s: string): boolean {
  let v = s.toUpperCase();
  if (v.length < 5) return false;
  const isLetter = (i: number) => v.charCodeAt(i) >= 65 && v.charCodeAt(i) <= 90;
  const isNum = (i: number) => v.charCodeAt(i) >= 48 && v.charCodeAt(i) <= 57;
  if (isLetter(0) && isLetter(1) && isNum(2) && isNum(3)) v = v.slice(4) + v.slice(0, 4);
  let rem = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c >= 48 && c <= 57) rem = (rem * 10 + (c - 48)) % 97;
    else if (c >= 65 && c <= 90) rem = (rem * 100 + (c - 55)) % 97;
    else return false;
  }
  return rem === 1;
}
