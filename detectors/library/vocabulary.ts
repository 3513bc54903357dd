// Building special-category vocabulary detectors from word lists. Each list is data: terms
// (matched case-insensitively, any spacing or hyphen between words) and acronyms (matched only
// in capitals, so "SEN" but not "sen", "CIN" but not "cin"). Keywords for the prefilter are
// derived: the longest uncommon word of each term, and each acronym.

import type { PatternDetector, DetectorExamples } from './types.ts';
import { strong } from './score.ts';

function escapeRe2(word: string): string {
  let out = '';
  for (const ch of word) out += '\\^$.|?*+()[]{}'.includes(ch) ? '\\' + ch : ch;
  return out;
}

/** A term's words with any spaces or hyphens between them (`gap`: one space or one hyphen, for `not` phrases). */
function termPattern(term: string, gap = '[\\s-]+'): string {
  return term
    .split(/[\s-]+/)
    .filter(Boolean)
    .map(escapeRe2)
    .join(gap);
}

// Words too common in school mail to be a useful prefilter keyword on their own.
const COMMON = new Set(
  `support care plan plans school education health child children needs need special group meeting help looked after
  free pupil pupils record concern policy in of and the to a for on with under any other previously order
  services service time term fixed internal early core strategy young language speech therapy access arrangements
  one page profile learning difficulty difficulties delay condition unit provision move managed behaviour pastoral
  referral religious belief white black mixed british asian group ethnic heritage irish other no`.split(/\s+/),
);

/** The prefilter keyword for a term: its longest uncommon word (or its longest word). */
function keywordOf(term: string): string {
  const words = term.split(/[^A-Za-z0-9]+/).filter(Boolean).map((w) => w.toLowerCase());
  const pick = (ws: string[]) => ws.reduce((best, w) => (w.length > best.length ? w : best), ws[0] ?? term.toLowerCase());
  const rare = words.filter((w) => !COMMON.has(w));
  return pick(rare.length ? rare : words);
}

/** The term as written, with runs of whitespace shown as one space (no RegExp on message text). */
function collapseSpaces(value: string): string {
  let out = '';
  let space = false;
  for (const ch of value) {
    const ws = ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n' || ch === '\u00a0';
    if (ws) {
      if (!space) out += ' ';
      space = true;
    } else {
      out += ch;
      space = false;
    }
  }
  return out;
}

export interface VocabularyInput {
  id: string;
  description: string;
  /** What the category is, for the reason: "special educational needs". */
  topic: string;
  /** Default 'special-category'. */
  category?: 'special-category' | 'pupil-record';
  terms: string[];
  acronyms?: string[];
  /**
   * Phrases that hold a term but are not it ("Disclosure Scotland", "enhanced disclosure": a
   * vetting check, not a child's disclosure). Matched first, where they start at or before the
   * term, and never reported.
   */
  not?: string[];
  window?: number;
  examples: DetectorExamples;
}

/** Is the matched text one of the phrases (lower case, spaces collapsed; spaces or hyphens between words as the pattern allows)? */
function isOneOf(value: string, phrases: string[]): boolean {
  const v = collapseSpaces(value).toLowerCase();
  for (const p of phrases) {
    if (v.length !== p.length) continue;
    let same = true;
    for (let i = 0; i < v.length && same; i++) same = v[i] === p[i] || ((v[i] === ' ' || v[i] === '-') && (p[i] === ' ' || p[i] === '-'));
    if (same) return true;
  }
  return false;
}

export function vocabularyDetector(v: VocabularyInput): PatternDetector {
  const parts: string[] = [];
  // The phrases that are not the term come first: RE2 takes the leftmost match, and of two
  // starting together the first alternative, so "Disclosure Scotland" is read whole.
  const not = (v.not ?? []).map((t) => collapseSpaces(t).toLowerCase());
  // Their words are one space or one hyphen apart, on one line: "disclosure - check" or a
  // heading's "Disclosure\nChecks made:" is not the phrase.
  if (not.length) parts.push(`(?i:\\b(?:${(v.not ?? []).map((p) => termPattern(p, '[ -]')).join('|')})\\b)`);
  if (v.terms.length) parts.push(`(?i:\\b(?:${v.terms.map((t) => termPattern(t)).join('|')})\\b)`);
  if (v.acronyms?.length) parts.push(`\\b(?:${v.acronyms.map(escapeRe2).join('|')})\\b`);
  const keywords = [...new Set([...v.terms.map(keywordOf), ...(v.acronyms ?? []).map(keywordOf)])];
  return {
    kind: 'pattern',
    id: v.id,
    description: v.description,
    category: v.category ?? 'special-category',
    topic: v.topic,
    patterns: [parts.join('|')],
    caseSensitive: true,
    wordBounded: true,
    keywords,
    score: not.length ? (m) => (isOneOf(m.value, not) ? null : strong(0.8)) : () => strong(0.8),
    redact: collapseSpaces,
    reason: () => `Mentions ${v.topic} close to a pupil's name, an identifier or a date of birth`,
    proximity: { window: v.window ?? 300 },
    examples: v.examples,
  };
}
