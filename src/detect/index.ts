// All detectors compiled once into a DetectorSet that scans a text in (close to) one pass:
//
//  1. The word pass (src/roster/word-pass.ts, in C) walks the UTF-8 bytes once and, with the
//     name matcher (src/roster/name-matcher.ts), matches roster names, notes every keyword word
//     (prefilter and context words of the pattern detectors) and every word holding a digit.
//  2. Identifier detectors (prefilter 'digits'): byte-level twins (UPN, numeric dates, with
//     byte-level validators) are tried at each word with a digit and what they find is blanked in
//     a copy; the other words with digits are grouped into regions, and only regions where one
//     cluster has enough digits (or a postcode-shaped word) are read by RE2: one RE2.Set pass says
//     which patterns occur there, and only those are run to locate matches (test() + search(),
//     ~8× cheaper than exec() per match).
//     Detectors that need a context word skip texts without one.
//  3. Keyword detectors (passwords) run only in windows around their keywords.
//  4. Special-category vocabulary runs only around its keywords that lie near an anchor (pupil
//     name, identifier or date of birth); a term is reported only within its window of an
//     anchor, carrying `near`.
//
// Findings work out their redacted evidence and reason when first read (class Finding).
// Every pattern is RE2 (linear time, no backtracking); no JavaScript RegExp touches message text.
// The speed-ups are checked by test/detectors.test.ts against plain exec() over every match.
// Figures: bench/detectors/RESULTS.md.

import { isAscii } from 'node:buffer';
import { createHash } from 'node:crypto';
import RE2 from 're2';
import { DETECTORS, checkRegistry, patternDetectors, rosterDetector } from '../../detectors/index.ts';
import type { Detector, PatternDetector, MatchInfo, DetectionCategory } from '../../detectors/library/types.ts';
import { redactName, stars } from '../../detectors/library/redact.ts';
import { buildNameIndex, type NameIndex, type NameSource, F_FORENAME, F_SURNAME, F_ORDINARY, V_SURNAME_FIRST, V_PREFERRED } from '../roster/name-index.ts';
import { scanWords, warmUpScanner, HIT_STRONG, HIT_WEAK_NAME, HIT_WEAK_WORD, type NameHit } from '../roster/name-matcher.ts';
import type { Roster, StaffList, StaffMember, Pupil } from '../roster/types.ts';

export { redactName } from '../../detectors/library/redact.ts';
export { redactIdentifier } from '../../detectors/library/redact.ts';

/**
 * One finding of a scan. Those scan() returns work out `evidence` and `reason` when first read
 * (accessors, see class Finding): copy one with JSON or toJSON(), never with {...spread}.
 */
export interface Detection {
  detector: string;
  /** Where in the message: `subject`, `body`, `attachment:report.docx` … (as given to scan). */
  where: string;
  /** Span in the scanned text: UTF-16 indices for a string, byte offsets for a Buffer. */
  start: number;
  end: number;
  /** Redacted form, safe for logs and notifications. */
  evidence: string;
  /** Plain English, for a business manager. */
  reason: string;
  strength: 'strong' | 'weak';
  score: number;
  /** Checksum result where the detector has one. */
  validated?: boolean;
  /** Roster ids of the pupils this finding names (pupil-name; capped for single common names). */
  pupilIds?: string[];
  category?: DetectionCategory;
  /** For names: which shape matched. */
  nameForm?: 'forename-surname' | 'surname-forename' | 'forename' | 'surname';
  /** For special-category terms: the anchor they were found near. */
  near?: { detector: string; kind: AnchorKind; distance: number; strength: 'strong' | 'weak' };
  /** For a single forename or surname: how many times it occurs in the text (reported once). */
  occurrences?: number;
  /** For a single forename or surname: where each occurrence is, as start, end pairs (flat, ascending). */
  mentions?: number[];
}

export type AnchorKind = 'pupil-name' | 'pupil-name-part' | 'identifier' | 'date-of-birth';

export interface DetectorSet {
  /** Identifies the compiled set (detector definitions + roster digest), for incidents and logs. */
  version: string;
  scan(text: string | Buffer, where: string): Detection[];
  roster?: Roster;
  stats: { compileMs: number; nameIndexBytes: number; pupils: number; nameVariants: number; staffVariants: number; nameWords: number };
}

export interface CompileOptions {
  roster?: Roster;
  /** Staff names to exclude (a staff list, or members). */
  staff?: StaffList | StaffMember[];
  /** Defaults to the registry; tests compile a single detector. */
  detectors?: readonly Detector[];
  /** Use detectors' byte-level fast paths (default true; tests compare with and without). */
  fastPaths?: boolean;
  /** Locate every match with exec() (slower; tests compare it with the test()+search() way). */
  exactLocate?: boolean;
  /** Read identifier patterns over the whole text, not only its digit regions (tests compare both). */
  wholeText?: boolean;
}

interface CompiledPattern {
  detector: number;
  re: RE2;
  hasValueGroup: boolean;
  /**
   * Every match starts and ends with a word character at a \b, so a match's start can be found
   * by searching the bytes just before its end (the detector declares it: wordBounded).
   */
  wordBounded: boolean;
}

interface CompiledDetector {
  def: PatternDetector;
  index: number;
  patterns: CompiledPattern[];
}

// Letters a match can have before its first digit or after its last ("March 12, 2014", "AB 12 34 56 C").
const REGION_PAD = 16;
/** Words with digits closer than this share a region (one RE2 call costs about as much as reading 200 bytes). */
const REGION_MERGE = 96;
/**
 * Words with digits this close (bytes between them) form one cluster: every identifier pattern's
 * digits lie in one cluster ("AB 12 34 56 C", "+44 (0)1632 960 000"), and a numeric date's in one
 * joined by single date separators ("12/03/2014"), so a region is only read by RE2 when one of its
 * clusters has enough digits. A class list's "12,12B" (year, form) on every row is then not an
 * identifier region.
 */
const CLUSTER_GAP = 3;
const NO_POSITIONS: number[] = [];
/** Keyword windows this close are read as one (RE2 reads ~200 bytes in the time one call costs). */
const WINDOW_MERGE = 128;
/** Longest match any pattern detector produces, for windows around context words. */
const MAX_MATCH = 64;
/** Longest anchor (pupil name, identifier, date) in bytes. */
const MAX_ANCHOR = 512;
/** Bytes before and after a keyword in which its detector's patterns can match. */
const DEFAULT_KEYWORD_WINDOW = { before: 64, after: 64 };

/** Every field a pattern detector can have, in one order (values filled in by uniform()). */
const DETECTOR_FIELDS: { [K in keyof Required<PatternDetector>]: undefined } = {
  kind: undefined,
  id: undefined,
  description: undefined,
  category: undefined,
  topic: undefined,
  patterns: undefined,
  wordBounded: undefined,
  caseSensitive: undefined,
  keywords: undefined,
  keywordWindow: undefined,
  prefilter: undefined,
  minDigits: undefined,
  origin: undefined,
  tokenMatch: undefined,
  tokenMatchWord: undefined,
  tokenValidate: undefined,
  trimTrailing: undefined,
  validate: undefined,
  requiresContext: undefined,
  context: undefined,
  score: undefined,
  redact: undefined,
  reason: undefined,
  proximity: undefined,
  examples: undefined,
};

/**
 * The detector with every field present, in one order: each detector file writes only what it
 * needs, but the scanner reads them all in its hot loops, where one object shape keeps property
 * reads fast (many shapes make them megamorphic lookups). The type above lists every field, so a
 * field added to PatternDetector must be added there too.
 */
function uniform(d: PatternDetector): PatternDetector {
  return { ...DETECTOR_FIELDS, ...d };
}

/** / . - between the parts of a numeric date. */
function isDateSeparator(c: number): boolean {
  return c === 0x2f || c === 0x2e || c === 0x2d;
}

function isWordByte(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c >= 0x80;
}

function pupilNameSource(p: Pupil): NameSource {
  const forenames = [p.legalForename, p.preferredForename].filter((x): x is string => !!x);
  const surnames = [p.legalSurname, p.preferredSurname].filter((x): x is string => !!x);
  return {
    forenames,
    surnames,
    middleNames: p.middleNames ? [p.middleNames] : undefined,
    preferred: {
      forenames: p.preferredForename && p.preferredForename !== p.legalForename ? [p.preferredForename] : [],
      surnames: p.preferredSurname && p.preferredSurname !== p.legalSurname ? [p.preferredSurname] : [],
    },
  };
}

export function compileDetectors(opts: CompileOptions = {}): DetectorSet {
  const t0 = performance.now();
  const detectors = opts.detectors ?? DETECTORS;
  checkRegistry(detectors);
  const pattern = patternDetectors(detectors);
  const withNames = rosterDetector(detectors) !== undefined || opts.detectors === undefined;

  // Keywords: trigger words and context words share one id space.
  const keywordIds = new Map<string, number>();
  const keywordWords: string[] = [];
  const triggersOf: number[][] = [];
  const contextOf: number[][] = [];
  const kw = (w: string): number => {
    const word = w.toLowerCase();
    let id = keywordIds.get(word);
    if (id === undefined) {
      id = keywordWords.length;
      keywordIds.set(word, id);
      keywordWords.push(word);
      triggersOf.push([]);
      contextOf.push([]);
    }
    return id;
  };

  const compiled: CompiledDetector[] = pattern.map((given, index) => {
    const def = uniform(given);
    const flags = 'g' + (def.caseSensitive ? '' : 'i');
    const patterns = def.patterns.map((src) => {
      let re: RE2;
      try {
        re = new RE2(src, flags);
      } catch (e) {
        throw new Error(`detector ${def.id}: pattern does not compile with RE2: ${(e as Error).message}`);
      }
      const hasValueGroup = src.includes('(?P<value>');
      return { detector: index, re, hasValueGroup, wordBounded: opts.exactLocate !== true && def.wordBounded === true && !hasValueGroup };
    });
    for (const w of def.keywords ?? []) triggersOf[kw(w)].push(index);
    for (const w of def.context?.words ?? []) contextOf[kw(w)].push(index);
    return { def, index, patterns };
  });

  // Digit-prefiltered detectors (except those that need a context word right beside the match):
  // one RE2.Set pass over the digit regions says which of their patterns occur at all; only
  // those are then run to find where.
  const digitPatterns: CompiledPattern[] = [];
  const setSources: string[] = [];
  for (const c of compiled) {
    if (c.def.prefilter !== 'digits' || c.def.requiresContext === 'near') continue;
    c.def.patterns.forEach((src, k) => {
      digitPatterns.push(c.patterns[k]);
      setSources.push(c.def.caseSensitive ? src : `(?i:${src})`);
    });
  }
  const digitSet = setSources.length ? new RE2.Set(setSources, '', { maxMem: 64 << 20 }) : undefined;
  // Those that need a context word beside the match (phones, bank details) run on the original
  // text (never on the copy blanked by fast paths: "Sort code 12-03-14" is not a date), and only
  // when one of their context words occurs at all.
  const nearPatterns: CompiledPattern[] = [];
  const nearSources: string[] = [];
  for (const c of compiled) {
    if (c.def.prefilter !== 'digits' || c.def.requiresContext !== 'near') continue;
    c.def.patterns.forEach((src, k) => {
      nearPatterns.push(c.patterns[k]);
      nearSources.push(c.def.caseSensitive ? src : `(?i:${src})`);
    });
  }
  const nearSet = nearSources.length ? new RE2.Set(nearSources, '', { maxMem: 64 << 20 }) : undefined;
  // Both in one pass when nothing was blanked (most texts): patterns [...digit, ...near].
  const allPatterns = [...digitPatterns, ...nearPatterns];
  const allSet = allPatterns.length ? new RE2.Set([...setSources, ...nearSources], '', { maxMem: 64 << 20 }) : undefined;
  // Detectors that report nothing without a context word somewhere in the text (dates of birth)
  // or right next to the match (phones, bank details): skipped, or run only around those words.
  const textContextDetectors = compiled.filter((c) => c.def.requiresContext === 'text');
  // Every shipped identifier has six digits or more in one cluster; a school's own reference
  // format may say it has fewer (minDigits), and then regions with that many are read too.
  let minIdDigits = 6;
  for (const c of compiled) if (c.def.prefilter === 'digits' && c.def.minDigits !== undefined && c.def.minDigits < minIdDigits) minIdDigits = c.def.minDigits;
  const fast = opts.fastPaths === false ? [] : compiled.filter((c) => c.def.tokenMatch && c.def.requiresContext !== 'near');
  // The lengths of the first word (as the word pass splits text) at which each fast path can match.
  const fastMinLength = Int32Array.from(fast, (c) => c.def.tokenMatchWord?.[0] ?? 1);
  const fastMaxLength = Int32Array.from(fast, (c) => c.def.tokenMatchWord?.[1] ?? 0x7fffffff);
  const fastNow = new Int32Array(fast.length);
  const nearContextDetectors = compiled.filter((c) => c.def.requiresContext === 'near');
  const keywordDetectors = compiled.filter((c) => c.def.keywords?.length && !c.def.proximity);
  const proximityDetectors = compiled.filter((c) => c.def.proximity);
  const proximityPatterns: CompiledPattern[] = proximityDetectors.flatMap((c) => c.patterns);
  const proximitySet = proximityPatterns.length
    ? new RE2.Set(
        proximityDetectors.flatMap((c) => c.def.patterns.map((src) => (c.def.caseSensitive ? src : `(?i:${src})`))),
        '',
        { maxMem: 64 << 20 },
      )
    : undefined;
  const detectorIndex = new Map(compiled.map((c) => [c.def.id, c.index]));
  const wholeText = opts.wholeText === true;

  // Name index (always built: it also carries the keywords).
  const roster = withNames ? opts.roster : undefined;
  const staffMembers = Array.isArray(opts.staff) ? opts.staff : (opts.staff?.members ?? []);
  const ix = buildNameIndex({
    pupils: roster ? roster.pupils.map(pupilNameSource) : [],
    staff: staffMembers.map((s) => ({ forenames: [s.forename, ...(s.otherForenames ?? [])], surnames: [s.surname] })),
    keywords: keywordWords,
  });
  // Run every branch of the word scanner once before real mail arrives (see warmUpScanner).
  warmUpScanner(ix);
  const pupils = roster?.pupils ?? [];
  const nameCache: NameCache = { variantReason: [], variantIds: [], wordReason: [], wordIds: [] };
  if (compiled.length > 64) throw new Error('at most 64 pattern detectors are supported');

  const versionHash = createHash('sha256');
  for (const d of detectors) versionHash.update(d.id + '\0' + (d.kind === 'pattern' ? d.patterns.join('\0') : '') + '\n');
  versionHash.update('roster:' + (roster?.digest ?? 'none') + ';staff:' + staffMembers.length);
  const version = `detectors-${versionHash.digest('hex').slice(0, 16)}`;

  const scan = (text: string | Buffer, where: string): Detection[] => {
    const isString = typeof text === 'string';
    // Findings read their evidence from this text when asked: a Buffer given in is copied, so
    // nothing the caller does with it afterwards changes them.
    const buf = isString ? Buffer.from(text, 'utf8') : ownCopy(text);
    const n = buf.length;
    const out: Detection[] = [];
    if (n === 0) return out;

    const words = scanWords(buf, ix);

    // Keyword hits → which detectors are triggered, and where each detector's context words are.
    const triggered = new Uint8Array(compiled.length);
    const contextPos: number[][] = new Array(compiled.length);
    for (let d = 0; d < compiled.length; d++) contextPos[d] = NO_POSITIONS;
    const kh = words.keywordHits;
    for (let k = 0; k < kh.length; k += 3) {
      const id = kh[k];
      const t = triggersOf[id];
      for (let q = 0; q < t.length; q++) triggered[t[q]] = 1;
      const cx = contextOf[id];
      for (let q = 0; q < cx.length; q++) {
        const d = cx[q];
        if (contextPos[d] === NO_POSITIONS) contextPos[d] = [];
        contextPos[d].push(kh[k + 1]);
      }
    }

    // 1. Names.
    const anchors: Detection[] = [];
    if (roster) nameDetections(words.names, buf, ix, pupils, where, out, anchors, nameCache);

    // 2. Identifier-shaped detectors over the digit regions. Byte-level fast paths first (a UPN or
    //    a date on every row of a class list would cost one RE2 call each); what they found is
    //    blanked in a copy so the RE2 patterns, run next over that copy, report the rest.
    //    Meanwhile the remaining words with digits are grouped into regions, read by RE2 only
    //    where one cluster holds enough digits (see CLUSTER_GAP), so "Year 4" and "3.15pm" cost
    //    nothing.
    let masked: Buffer | undefined;
    if (words.digitWords) {
      let scanBuf = buf;
      let fastEnd = -1;
      const open: number[] = []; // regions of words not blanked (for the digit patterns)
      const all: number[] = []; // regions of all words with digits (for the near-context ones)
      // Per region kind: start, end (of its last word so far), digits in the current cluster and
      // the most in one cluster, the same for clusters joined only by a date separator
      // (12/03/2014), and whether a postcode-like word was seen.
      let oS = -1, oE = -1, oC = 0, oM = 0, oDC = 0, oDM = 0, oP = 0;
      let aS = -1, aE = -1, aC = 0, aM = 0, aDC = 0, aDM = 0, aP = 0;
      const digits = words.digits;
      // Every identifier shape has six digits or more (NI, sort code) in one cluster, or a
      // postcode-like word (2AB); a numeric date has four (d/m/yy), and dates only count where the
      // text speaks of birth.
      let dates = false;
      for (const c of textContextDetectors) if (contextPos[c.index].length) dates = true;
      const minDateDigits = dates ? 4 : 0x7fffffff;
      // Fast paths that can run here (a date only where the text speaks of birth).
      let fastCount = 0;
      for (let f = 0; f < fast.length; f++) {
        const c = fast[f];
        if (c.def.requiresContext === 'text' && contextPos[c.index].length === 0) continue;
        fastNow[fastCount++] = f;
      }
      for (let k = 0; k < words.digitWords; k++) {
        const st = digits[3 * k];
        const en = digits[3 * k + 1];
        const count = digits[3 * k + 2] & 255;
        // A postcode-like end, or an apostrophe or non-ASCII character inside the word (RE2's
        // ASCII \b can fall inside it, 1AE’s): its region is read whatever its digits.
        const post = digits[3 * k + 2] >> 8;
        const dateJoin = st > 0 && isDateSeparator(buf[st - 1]);
        if (aE >= 0 && st - aE <= REGION_MERGE) {
          aC = st - aE <= CLUSTER_GAP ? aC + count : count;
          aDC = st - aE === 1 && dateJoin ? aDC + count : count;
          if (aC > aM) aM = aC;
          if (aDC > aDM) aDM = aDC;
          aE = en;
          aP |= post;
        } else {
          if (aE >= 0 && (aM >= minIdDigits || aDM >= minDateDigits || aP)) all.push(aS, aE);
          aS = st;
          aE = en;
          aC = aM = aDC = aDM = count;
          aP = post;
        }
        // A word inside what a fast path found is done; one that runs on past it (12/03/2014'5…)
        // is left to RE2 like any other.
        if (st < fastEnd && en <= fastEnd) continue;
        let blanked = false;
        const len = en - st;
        for (let q = st < fastEnd ? fastCount : 0; q < fastCount; q++) {
          const f = fastNow[q];
          if (len < fastMinLength[f] || len > fastMaxLength[f]) continue;
          const c = fast[f];
          const e = c.def.tokenMatch!(buf, st);
          if (e <= st) continue;
          considerMatch(c, st, e, st, buf, contextPos, where, out, anchors, true);
          masked ??= maskedCopy(buf);
          for (let x = st; x < e; x++) masked[x] = 0x20;
          fastEnd = e;
          blanked = true;
          break;
        }
        if (blanked) continue;
        if (oE >= 0 && st - oE <= REGION_MERGE) {
          oC = st - oE <= CLUSTER_GAP ? oC + count : count;
          oDC = st - oE === 1 && dateJoin ? oDC + count : count;
          if (oC > oM) oM = oC;
          if (oDC > oDM) oDM = oDC;
          oE = en;
          oP |= post;
        } else {
          if (oE >= 0 && (oM >= minIdDigits || oDM >= minDateDigits || oP)) open.push(oS, oE);
          oS = st;
          oE = en;
          oC = oM = oDC = oDM = count;
          oP = post;
        }
      }
      if (aE >= 0 && (aM >= minIdDigits || aDM >= minDateDigits || aP)) all.push(aS, aE);
      if (oE >= 0 && (oM >= minIdDigits || oDM >= minDateDigits || oP)) open.push(oS, oE);
      if (wholeText) {
        all.splice(0, all.length, 0, n);
        open.splice(0, open.length, 0, n);
      }
      if (masked) scanBuf = masked;

      // RE2 reads ~600 MB/s, so each extra pass over a whole text would cost as much as the
      // word scan itself: only the regions are searched.
      let nearWanted = false;
      for (const c of nearContextDetectors) if (contextPos[c.index].length) nearWanted = true;
      if (!masked && allSet) {
        // Nothing blanked: one Set pass serves both kinds.
        const regions = padRegions(buf, all);
        for (let r = 0; r < regions.length; r += 2) {
          const sub = buf.subarray(regions[r], regions[r + 1]);
          for (const p of allSet.match(sub)) {
            const cp = allPatterns[p];
            const c = compiled[cp.detector];
            if (c.def.requiresContext && contextPos[c.index].length === 0) continue;
            runPattern(c, cp, sub, regions[r], buf, contextPos, where, out, anchors);
          }
        }
      } else {
        if (digitSet && open.length) {
          const regions = padRegions(buf, open);
          for (let r = 0; r < regions.length; r += 2) {
            const sub = scanBuf.subarray(regions[r], regions[r + 1]);
            for (const p of digitSet.match(sub)) {
              const cp = digitPatterns[p];
              const c = compiled[cp.detector];
              // A date is a date of birth only in a text that says so somewhere.
              if (c.def.requiresContext === 'text' && contextPos[c.index].length === 0) continue;
              runPattern(c, cp, sub, regions[r], buf, contextPos, where, out, anchors);
            }
          }
        }
        if (nearSet && nearWanted && all.length) {
          const regions = padRegions(buf, all);
          for (let r = 0; r < regions.length; r += 2) {
            const sub = buf.subarray(regions[r], regions[r + 1]);
            for (const p of nearSet.match(sub)) {
              const cp = nearPatterns[p];
              const c = compiled[cp.detector];
              if (contextPos[c.index].length === 0) continue;
              runPattern(c, cp, sub, regions[r], buf, contextPos, where, out, anchors);
            }
          }
        }
      }
    }

    // 3 and 4 need where each detector's keywords are.
    let keywordPos: number[][] | undefined;
    const positionsOf = (d: number): number[] => {
      if (!keywordPos) {
        keywordPos = compiled.map(() => []);
        for (let k = 0; k < kh.length; k += 3) {
          const t = triggersOf[kh[k]];
          for (let q = 0; q < t.length; q++) keywordPos[t[q]].push(kh[k + 1]);
        }
      }
      return keywordPos[d];
    };

    // 3. Keyword-triggered detectors (passwords), only in windows around their keywords.
    for (const c of keywordDetectors) {
      if (!triggered[c.index]) continue;
      const w = c.def.keywordWindow ?? DEFAULT_KEYWORD_WINDOW;
      const windows: number[] = [];
      for (const pos of positionsOf(c.index)) {
        if (windows.length && pos - w.before <= windows[windows.length - 1]) windows[windows.length - 1] = pos + w.after;
        else windows.push(pos - w.before, pos + w.after);
      }
        const aligned = alignRegions(buf, windows);
      for (let r = 0; r < aligned.length; r += 2) {
        const sub = buf.subarray(aligned[r], aligned[r + 1]);
        for (const cp of c.patterns) runPattern(c, cp, sub, aligned[r], buf, contextPos, where, out, anchors);
      }
    }

    // 4. Special-category vocabulary, only around its keywords that lie near an anchor.
    if (anchors.length) {
      let anyTriggered = false;
      for (const c of proximityDetectors) if (triggered[c.index]) anyTriggered = true;
      // Where the anchors are, in 64-byte buckets (anchors are short: first and last bucket).
      const cover = new Uint8Array(anyTriggered ? (n >> 6) + 2 : 0);
      if (anyTriggered) {
        for (const a of anchors) {
          cover[a.start >> 6] = 1;
          cover[(a.end - 1) >> 6] = 1;
        }
      }
      // Windows around the keywords of every triggered vocabulary detector that lie near an
      // anchor; one RE2.Set pass per window says which vocabularies really occur there.
      const windows: number[] = [];
      for (const c of proximityDetectors) {
        if (!triggered[c.index]) continue;
        const reach = c.def.proximity!.window + MAX_MATCH;
        const w = c.def.keywordWindow ?? DEFAULT_KEYWORD_WINDOW;
        for (const pos of positionsOf(c.index)) {
          const last = Math.min(cover.length - 1, (pos + reach) >> 6);
          for (let b = Math.max(0, (pos - reach) >> 6); b <= last; b++) {
            if (cover[b] !== 0) {
              windows.push(Math.max(0, pos - w.before), pos + w.after);
              break;
            }
          }
        }
      }
      if (windows.length && proximitySet) {
        sortByStart(anchors); // a few sorted runs (names, then each identifier detector): merged
        // Windows of several detectors interleave: sort by start before merging.
        const order = new Float64Array(windows.length / 2);
        for (let k = 0; k < order.length; k++) order[k] = windows[2 * k] * 4096 + Math.min(4095, windows[2 * k + 1] - windows[2 * k]);
        order.sort();
        const sorted: number[] = [];
        for (const key of order) {
          const st = Math.floor(key / 4096);
          sorted.push(st, st + (key % 4096));
        }
        // Windows closer than one RE2 call's worth of reading are read as one.
        const aligned = alignRegions(buf, sorted, WINDOW_MERGE);
        const found: Detection[] = [];
        for (let r = 0; r < aligned.length; r += 2) {
          const sub = buf.subarray(aligned[r], aligned[r + 1]);
          // Most windows hold a keyword but no term ("child" without "in need"): test() says so
          // for a third of the cost of match().
          if (!proximitySet.test(sub)) continue;
          for (const p of proximitySet.match(sub)) {
            const cp = proximityPatterns[p];
            const c = compiled[cp.detector];
            if (!triggered[c.index]) continue;
            runPattern(c, cp, sub, aligned[r], buf, contextPos, where, found, null);
          }
        }
        for (const d of found) {
          const near = nearestAnchor(anchors, d.start, d.end, compiled[detectorIndex.get(d.detector)!].def.proximity!.window);
          if (!near) continue;
          d.near = near;
          d.strength = near.strength;
          d.score = near.strength === 'strong' ? d.score : Math.min(d.score, 0.45);
          out.push(d);
        }
      }
    }

    sortByStart(out);
    if (isString && buf.length !== text.length) toUtf16Offsets(buf, out);
    // Keep no message text between scans: the reused mask copy is wiped.
    if (masked) wipeMask(n);
    return out;
  };

  return {
    version,
    scan,
    roster,
    stats: {
      compileMs: performance.now() - t0,
      nameIndexBytes: ix.stats.bytes,
      pupils: pupils.length,
      nameVariants: ix.stats.pupilVariants,
      staffVariants: ix.stats.staffVariants,
      nameWords: ix.stats.words,
    },
  };
}

function nameDetections(hits: NameHit[], buf: Buffer, ix: NameIndex, pupils: Pupil[], where: string, out: Detection[], anchors: Detection[], cache: NameCache): void {
  // A single forename or surname is a weak hint: reported once per text with how often it occurs.
  // Every occurrence is kept in `mentions` and is an anchor for special-category terms: the policy
  // decides which of them refer to a pupil named in full earlier in the text (src/decide/about.ts).
  let firstOfWord: Map<number, Detection> | undefined;
  for (const h of hits) {
    if (h.kind === HIT_WEAK_WORD) {
      firstOfWord ??= new Map();
      const first = firstOfWord.get(h.ref);
      if (first) {
        first.occurrences = (first.occurrences ?? 1) + 1;
        first.mentions!.push(h.start, h.end);
        anchors.push(mentionAnchor(first, h.start, h.end));
        continue;
      }
    }
    const d = nameDetection(h, buf, ix, pupils, where, cache);
    if (!d) continue;
    if (h.kind === HIT_WEAK_WORD) {
      firstOfWord!.set(h.ref, d);
      d.mentions = [h.start, h.end];
    }
    out.push(d);
    anchors.push(d);
  }
}

/** A later occurrence of a single name word, as an anchor only (it is counted on its first finding). */
function mentionAnchor(first: Detection, start: number, end: number): Detection {
  return { detector: first.detector, where: first.where, start, end, evidence: '', reason: '', strength: 'weak', score: first.score, category: 'name' };
}

/** Per compiled set: explanation and pupil ids of each name variant / word, built on first use. */
interface NameCache {
  variantReason: Array<string | undefined>;
  variantIds: Array<readonly string[] | undefined>;
  wordReason: Array<string | undefined>;
  wordIds: Array<readonly string[] | null | undefined>;
}

function variantIds(cache: NameCache, ix: NameIndex, pupils: Pupil[], v: number): readonly string[] {
  let ids = cache.variantIds[v];
  if (!ids) {
    ids = Object.freeze(ix.variantPupils[v].map((p) => pupils[p].id));
    cache.variantIds[v] = ids;
  }
  return ids;
}

function variantReason(cache: NameCache, ix: NameIndex, ids: readonly string[], v: number, kind: number, note?: string): string {
  const slot = kind === HIT_STRONG ? v * 3 : note === 'also-staff' ? v * 3 + 1 : v * 3 + 2;
  let reason = cache.variantReason[slot];
  if (!reason) {
    const vf = ix.variantFlags[v];
    const which = vf & V_PREFERRED ? 'preferred name' : 'name';
    const count = ids.length === 1 ? 'a pupil' : `${ids.length} pupils`;
    reason =
      kind === HIT_STRONG
        ? `The full ${which} of ${count} on the school roster (${vf & V_SURNAME_FIRST ? 'surname first' : 'forename and surname'})`
        : note === 'also-staff'
          ? `The full ${which} of ${count} on the roster, which is also a member of staff's name`
          : `The full ${which} of ${count} on the roster, written in lower case and made of ordinary words`;
    cache.variantReason[slot] = reason;
  }
  return reason;
}

function nameDetection(h: NameHit, buf: Buffer, ix: NameIndex, pupils: Pupil[], where: string, cache: NameCache): Detection | undefined {
  if (h.kind === HIT_STRONG || h.kind === HIT_WEAK_NAME) {
    const vf = ix.variantFlags[h.ref];
    const ids = variantIds(cache, ix, pupils, h.ref);
    const reason = variantReason(cache, ix, ids, h.ref, h.kind, h.note);
    const form = vf & V_SURNAME_FIRST ? 'surname-forename' : 'forename-surname';
    if (h.kind === HIT_STRONG) {
      const d = Finding.forName(where, buf, h.start, h.end, reason, 'strong', 0.9);
      d.pupilIds = ids as string[];
      d.nameForm = form;
      return d;
    }
    const d = Finding.forName(where, buf, h.start, h.end, reason, 'weak', h.note === 'also-staff' ? 0.5 : 0.4);
    d.pupilIds = ids as string[];
    d.nameForm = form;
    return d;
  }
  if (h.kind === HIT_WEAK_WORD) {
    const f = ix.wordFlags[h.ref];
    const asForename = (f & F_FORENAME) !== 0;
    let reason = cache.wordReason[h.ref];
    let ids = cache.wordIds[h.ref];
    if (reason === undefined) {
      const count = ix.wordPupilCount[h.ref];
      const part = asForename && f & F_SURNAME ? 'forename or surname' : asForename ? 'forename' : 'surname';
      reason = `The ${part} of ${count === 1 ? 'a pupil' : `${count} pupils`} on the roster, alone (not a full name)`;
      const list = ix.wordPupils[h.ref];
      ids = list && count <= list.length ? Object.freeze(list.map((p) => pupils[p].id)) : null;
      cache.wordReason[h.ref] = reason;
      cache.wordIds[h.ref] = ids;
    }
    const d = Finding.forName(where, buf, h.start, h.end, reason, 'weak', f & F_ORDINARY ? 0.1 : 0.25);
    d.nameForm = asForename ? 'forename' : 'surname';
    if (ids) d.pupilIds = ids as string[];
    return d;
  }
  return undefined;
}

/**
 * redactName straight from the bytes: each word's first letter and a star per further letter,
 * separators kept (tab and line breaks as spaces). ASCII only; anything else goes through the
 * string version.
 */
function redactNameBytes(buf: Buffer, start: number, end: number): string {
  let out = '';
  let i = start;
  while (i < end) {
    const c = buf[i];
    if (c >= 0x80) return redactName(buf.toString('utf8', start, end));
    if (isNameLetter(c)) {
      // A word: its first letter, then one star per letter or apostrophe inside it.
      let j = i + 1;
      while (j < end && (isNameLetter(buf[j]) || buf[j] === 0x27)) j++;
      if (j < end && buf[j] >= 0x80) return redactName(buf.toString('utf8', start, end));
      out += String.fromCharCode(c) + stars(j - i - 1);
      i = j;
    } else {
      out += c === 13 || c === 10 || c === 9 ? ' ' : String.fromCharCode(c);
      i++;
    }
  }
  return out;
}

function isNameLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
}

let maskScratch = Buffer.alloc(0);
/** A mask copy larger than this is let go after its scan rather than kept for the next. */
const KEEP_MASK = 1 << 20;

/**
 * A copy of the text in which the fast paths blank what they found (reused from scan to scan:
 * scans are synchronous and each thread has its own module; wiped after each, see wipeMask).
 */
function maskedCopy(buf: Buffer): Buffer {
  if (maskScratch.length < buf.length) maskScratch = Buffer.allocUnsafe(Math.max(buf.length, 2 * maskScratch.length, 4096));
  buf.copy(maskScratch, 0, 0, buf.length);
  return maskScratch.subarray(0, buf.length);
}

/** Zero the first n bytes of the mask copy (no message text stays behind), or let a big one go. */
function wipeMask(n: number): void {
  if (maskScratch.length > KEEP_MASK) maskScratch = Buffer.alloc(0);
  else maskScratch.fill(0, 0, n);
}

/** The scanner's own copy of a Buffer it was given (findings read their evidence from it later). */
function ownCopy(text: Buffer): Buffer {
  const own = Buffer.allocUnsafe(text.length);
  text.copy(own, 0, 0, text.length);
  return own;
}

/** Widen digit regions so patterns that start or end with letters ("12 March 2014") fit, on word boundaries. */
function padRegions(buf: Buffer, regions: number[]): number[] {
  const widened: number[] = [];
  for (let r = 0; r < regions.length; r += 2) widened.push(regions[r] - REGION_PAD, regions[r + 1] + REGION_PAD);
  const out = alignRegions(buf, widened);
  let total = 0;
  for (let r = 0; r < out.length; r += 2) total += out[r + 1] - out[r];
  // Mostly digits anyway: one pass over the whole text is cheaper than many small ones.
  if (total > buf.length * 0.8) return [0, buf.length];
  return out;
}

/** Clamp regions to the text, move their edges off the middle of words, merge overlaps (and gaps up to `mergeGap` bytes). */
function alignRegions(buf: Buffer, regions: number[], mergeGap = 0): number[] {
  const n = buf.length;
  const out: number[] = [];
  for (let r = 0; r < regions.length; r += 2) {
    let s = Math.max(0, regions[r]);
    let e = Math.min(n, regions[r + 1]);
    if (e <= s) continue;
    while (s > 0 && isWordByte(buf[s - 1]) && isWordByte(buf[s])) s--;
    while (e < n && isWordByte(buf[e - 1]) && isWordByte(buf[e])) e++;
    if (out.length && s <= out[out.length - 1] + mergeGap) out[out.length - 1] = Math.max(out[out.length - 1], e);
    else out.push(s, e);
  }
  return out;
}

/** Sort findings by position; most scans produce them nearly in order already. */
function sortByStart(ds: Detection[]): void {
  // Findings arrive as a few sorted runs (names, then each detector's matches in text order):
  // merge the runs rather than sort from scratch.
  let runs: Detection[][] = [];
  let from = 0;
  for (let i = 1; i <= ds.length; i++) {
    if (i === ds.length || ds[i - 1].start > ds[i].start) {
      runs.push(ds.slice(from, i));
      from = i;
    }
  }
  if (runs.length <= 1) return;
  while (runs.length > 1) {
    const next: Detection[][] = [];
    for (let r = 0; r < runs.length; r += 2) next.push(r + 1 < runs.length ? mergeByStart(runs[r], runs[r + 1]) : runs[r]);
    runs = next;
  }
  const merged = runs[0];
  for (let i = 0; i < ds.length; i++) ds[i] = merged[i];
}

function mergeByStart(a: Detection[], b: Detection[]): Detection[] {
  const out: Detection[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = b[j].start < a[i].start ? b[j++] : a[i++];
  while (i < a.length) out[k++] = a[i++];
  while (j < b.length) out[k++] = b[j++];
  return out;
}

function hasContextNear(positions: number[], from: number, to: number): boolean {
  // positions ascending: first position >= from
  let lo = 0;
  let hi = positions.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (positions[mid] < from) lo = mid + 1;
    else hi = mid;
  }
  return lo < positions.length && positions[lo] <= to;
}

function runPattern(
  c: CompiledDetector,
  cp: CompiledPattern,
  sub: Buffer,
  base: number,
  buf: Buffer,
  contextPos: number[][],
  where: string,
  out: Detection[],
  anchors: Detection[] | null,
): void {
  const re = cp.re;
  re.lastIndex = 0;
  if (cp.wordBounded) {
    // test() finds each match's end without building a result (exec costs ~8× more per match);
    // search() on the stretch just before that end finds its start. Exact for patterns that
    // begin and end with \b and a word character (see CompiledPattern.wordBounded).
    let prevEnd = 0;
    while (re.test(sub)) {
      const e = re.lastIndex;
      let w = e - MAX_MATCH;
      if (w <= prevEnd) w = prevEnd;
      else while (w > prevEnd && isWordByte(sub[w - 1]) && isWordByte(sub[w])) w--;
      const rel = re.search(sub.subarray(w, e));
      const st = rel >= 0 ? w + rel : w;
      considerMatch(c, base + st, base + e, base + st, buf, contextPos, where, out, anchors);
      prevEnd = e;
    }
    re.lastIndex = 0;
    return;
  }
  for (;;) {
    const m = re.exec(sub);
    if (!m) break;
    const whole = m[0];
    if (whole.length === 0) {
      re.lastIndex++;
      continue;
    }
    const mStart = base + m.index;
    const mEnd = mStart + whole.length;
    const vStart = cp.hasValueGroup && m.groups?.value ? mEnd - m.groups.value.length : mStart;
    considerMatch(c, mStart, mEnd, vStart, buf, contextPos, where, out, anchors);
  }
}

/** Validate, check context, score and report one match (`fast`: found by the detector's tokenMatch). */
function considerMatch(
  c: CompiledDetector,
  mStart: number,
  mEnd: number,
  vStart: number,
  buf: Buffer,
  contextPos: number[][],
  where: string,
  out: Detection[],
  anchors: Detection[] | null,
  fast = false,
): void {
  const def = c.def;
  let vEnd = mEnd;
  if (def.trimTrailing) {
    while (vEnd - 1 > vStart && def.trimTrailing.includes(String.fromCharCode(buf[vEnd - 1]))) vEnd--;
  }
  // The candidate is what the detector's validate() and score() read (its value becomes a
  // string only if read: the fast paths validate from the bytes).
  const f = Finding.forMatch(def, where, buf, mStart, mEnd, vStart, vEnd);
  const validated = fast && def.tokenValidate ? def.tokenValidate(buf, vStart, vEnd) : def.validate ? def.validate(f.value) : undefined;
  if (validated === false) return;
  const ctx = contextPos[c.index];
  f.validated = validated;
  f.setContext(def.context ? hasContextNear(ctx, mStart - def.context.before, mEnd + def.context.after) : false, ctx.length > 0);
  const s = def.score(f);
  if (!s) return;
  f.strength = s.strength;
  f.score = s.score;
  out.push(f);
  if (anchors && (def.category === 'identifier' || def.category === 'date-of-birth')) anchors.push(f);
}

/**
 * One finding. Its redacted evidence and its reason are worked out when first read, from the
 * scanned text: a class list has a finding every few dozen bytes, and most are only counted by
 * the policy (a business manager reads the first few). A pattern detector's candidate match is a
 * Finding from the start: it is the MatchInfo its validate() and score() read. Every finding has
 * every field, in one order, so the code that sorts and compares findings stays monomorphic. The
 * text a finding was found in (the scanner's own copy) is kept in private fields: not shown by
 * util.inspect, not in JSON. `evidence` and `reason` are accessors: copy a finding with toJSON(),
 * not by spreading it.
 */
class Finding implements Detection, MatchInfo {
  detector: string;
  where: string;
  start: number;
  end: number;
  strength: 'strong' | 'weak';
  score: number;
  validated: boolean | undefined = undefined;
  pupilIds: string[] | undefined = undefined;
  category: DetectionCategory;
  nameForm: Detection['nameForm'] = undefined;
  near: Detection['near'] = undefined;
  occurrences: number | undefined = undefined;
  mentions: number[] | undefined = undefined;
  #evidence: string | undefined = undefined;
  #reason: string | undefined = undefined;
  #value: string | undefined = undefined;
  #text: Buffer;
  /** Bytes of the value (what is redacted) and of the whole match, in #text. */
  #from: number;
  #to: number;
  #matchFrom: number;
  #matchTo: number;
  #def: PatternDetector | undefined;
  #context = 0; // 1: a context word near, 2: one in the text

  constructor(detector: string, where: string, text: Buffer, mStart: number, mEnd: number, vStart: number, vEnd: number, category: DetectionCategory, def: PatternDetector | undefined) {
    this.detector = detector;
    this.where = where;
    this.start = vStart;
    this.end = vEnd;
    this.strength = 'weak';
    this.score = 0;
    this.category = category;
    this.#text = text;
    this.#from = vStart;
    this.#to = vEnd;
    this.#matchFrom = mStart;
    this.#matchTo = mEnd;
    this.#def = def;
  }

  /** A pupil's name: evidence redacted from its bytes, reason given (shared per name form). */
  static forName(where: string, text: Buffer, start: number, end: number, reason: string, strength: 'strong' | 'weak', score: number): Finding {
    const f = new Finding('pupil-name', where, text, start, end, start, end, 'name', undefined);
    f.strength = strength;
    f.score = score;
    f.#reason = reason;
    return f;
  }

  /** A pattern detector's candidate match (scored and kept, or dropped, by considerMatch). */
  static forMatch(def: PatternDetector, where: string, text: Buffer, mStart: number, mEnd: number, vStart: number, vEnd: number): Finding {
    return new Finding(def.id, where, text, mStart, mEnd, vStart, vEnd, def.category, def);
  }

  /** MatchInfo: the matched value (the value group, or the whole match). */
  get value(): string {
    return (this.#value ??= this.#def ? valueOf(this.#def, this.#text, this.#from, this.#to) : this.#text.toString('utf8', this.#from, this.#to));
  }

  /** MatchInfo: the whole match. */
  get match(): string {
    return this.#from === this.#matchFrom && this.#to === this.#matchTo ? this.value : this.#text.toString('utf8', this.#matchFrom, this.#matchTo);
  }

  get contextNear(): boolean {
    return (this.#context & 1) !== 0;
  }

  get contextInText(): boolean {
    return (this.#context & 2) !== 0;
  }

  setContext(near: boolean, inText: boolean): void {
    this.#context = (near ? 1 : 0) | (inText ? 2 : 0);
  }

  get evidence(): string {
    if (this.#evidence === undefined) {
      this.#evidence = this.#def ? this.#def.redact(this.value) : redactNameBytes(this.#text, this.#from, this.#to);
    }
    return this.#evidence;
  }

  set evidence(v: string) {
    this.#evidence = v;
  }

  get reason(): string {
    return (this.#reason ??= this.#def!.reason(this));
  }

  set reason(v: string) {
    this.#reason = v;
  }

  toJSON(): Detection {
    return {
      detector: this.detector,
      where: this.where,
      start: this.start,
      end: this.end,
      evidence: this.evidence,
      reason: this.reason,
      strength: this.strength,
      score: this.score,
      validated: this.validated,
      pupilIds: this.pupilIds,
      category: this.category,
      nameForm: this.nameForm,
      near: this.near,
      occurrences: this.occurrences,
      mentions: this.mentions,
    };
  }
}

/** The matched value as a detector reads it (byte twins' matches are ASCII: latin1 is exact and cheaper). */
function valueOf(def: PatternDetector, text: Buffer, from: number, to: number): string {
  return text.toString(def.tokenMatch ? 'latin1' : 'utf8', from, to);
}

function anchorKind(d: Detection): AnchorKind {
  if (d.category === 'name') return d.strength === 'strong' ? 'pupil-name' : 'pupil-name-part';
  if (d.category === 'date-of-birth') return 'date-of-birth';
  return 'identifier';
}

/**
 * The best anchor within `window` bytes of [start, end): strong before weak, then nearest.
 * `anchors` is sorted by start; anchors are short (a name of at most 8 words with at most 32
 * bytes between them, an identifier, a date), so any anchor near the term starts at most
 * window + MAX_ANCHOR bytes before it.
 */
function nearestAnchor(anchors: Detection[], start: number, end: number, window: number): Detection['near'] | undefined {
  let lo = 0;
  let hi = anchors.length;
  const from = start - window - MAX_ANCHOR;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (anchors[mid].start < from) lo = mid + 1;
    else hi = mid;
  }
  let best: Detection | undefined;
  let bestDist = Infinity;
  for (let k = lo; k < anchors.length && anchors[k].start <= end + window; k++) {
    const a = anchors[k];
    const dist = Math.max(0, a.start - end, start - a.end);
    if (dist > window) continue;
    const better =
      !best ||
      (a.strength === 'strong' && best.strength !== 'strong') ||
      (a.strength === best.strength && dist < bestDist);
    if (better) {
      best = a;
      bestDist = dist;
    }
  }
  if (!best) return undefined;
  return { detector: best.detector, kind: anchorKind(best), distance: bestDist, strength: best.strength };
}

/** Bytes per block that isAscii() clears at once (native, vectorised). */
const ASCII_BLOCK = 4096;

/** Convert byte offsets to UTF-16 indices in place (only for non-ASCII string input). */
function toUtf16Offsets(buf: Buffer, ds: Detection[]): void {
  // A UTF-16 index is the byte offset less the continuation bytes before it, plus one for each
  // 4-byte sequence (a surrogate pair) before it. Mail is mostly ASCII: whole blocks are cleared
  // natively, and only the bytes of the other blocks are read here.
  const fix: number[] = []; // ascending: position, then delta to the index from there on
  for (let b = 0; b < buf.length; b += ASCII_BLOCK) {
    const e = Math.min(buf.length, b + ASCII_BLOCK);
    if (isAscii(buf.subarray(b, e))) continue;
    for (let i = b; i < e; i++) {
      const c = buf[i];
      if (c < 0x80) continue;
      if ((c & 0xc0) === 0x80) fix.push(i, -1);
      else if (c >= 0xf0) fix.push(i, 1);
    }
  }
  let count = 0;
  for (const d of ds) count += 2 + (d.mentions?.length ?? 0);
  const sorted = new Int32Array(count);
  let n = 0;
  for (const d of ds) {
    sorted[n++] = d.start;
    sorted[n++] = d.end;
    if (d.mentions) for (const m of d.mentions) sorted[n++] = m;
  }
  sorted.sort();
  const units = new Int32Array(count);
  let delta = 0;
  let f = 0;
  for (let k = 0; k < count; k++) {
    // A 4-byte lead counts once the whole character is behind the offset (offsets fall between characters).
    while (f < fix.length && fix[f] < sorted[k]) {
      delta += fix[f + 1];
      f += 2;
    }
    units[k] = sorted[k] + delta;
  }
  const map = (offset: number): number => {
    let lo = 0;
    let hi = count - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid] < offset) lo = mid + 1;
      else hi = mid;
    }
    return units[lo];
  };
  for (const d of ds) {
    d.start = map(d.start);
    d.end = map(d.end);
    if (d.mentions) for (let q = 0; q < d.mentions.length; q++) d.mentions[q] = map(d.mentions[q]);
  }
}
