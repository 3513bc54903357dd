// All detectors compiled once into a DetectorSet that scans a text in (close to) one pass:
//
//  1. Names (names.ts). The word pass (src/roster/word-pass.ts, in C) walks the UTF-8 bytes once
//     and, with the name matcher (src/roster/name-matcher.ts), matches roster names, notes every
//     keyword word (prefilter and context words of the pattern detectors) and every word holding
//     a digit.
//  2. Identifiers (regions.ts, patterns.ts). Identifier detectors (prefilter 'digits'): byte-level
//     twins (UPN, numeric dates, with byte-level validators) are tried at each word with a digit,
//     and what they find is blanked where RE2 reads (a copy of each region holding one); the other
//     words with digits are grouped into regions, and only regions where one cluster has enough
//     digits (or a postcode-shaped word) are read by RE2: one RE2.Set pass says which patterns
//     occur there, and only those are run to locate matches (test() + search(), ~8× cheaper than
//     exec() per match).
//     Detectors that need a context word skip texts without one.
//  3. Keyword windows: keyword detectors (passwords) run only in windows around their keywords.
//  4. Proximity (proximity.ts): special-category vocabulary runs only around its keywords that lie near an anchor (pupil
//     name, identifier or date of birth); a term is reported only within its window of an
//     anchor, carrying `near`.
//
// Findings work out their redacted evidence and reason when first read (finding.ts); they are
// returned in text order, with UTF-16 offsets for a string (order.ts). A text of 2 MB or more is
// scanned 512 KB at a time, with the same findings (stretches.ts).
// Every pattern is RE2 (linear time, no backtracking); no JavaScript RegExp touches message text.
// The speed-ups are checked by test/detectors.test.ts against plain exec() over every match.
// Figures: bench/detectors/RESULTS.md.

import { createHash } from 'node:crypto';
import RE2 from 're2';
import { DETECTORS, checkRegistry, patternDetectors, rosterDetector } from '../../detectors/index.ts';
import type { PatternDetector } from '../../detectors/library/types.ts';
import { buildNameIndex } from '../roster/name-index.ts';
import { scanWords, warmUpScanner } from '../roster/name-matcher.ts';
import { nameDetections, newNameCache, pupilNameSource } from './names.ts';
import { sortByStart, toUtf16Offsets } from './order.ts';
import { considerMatch, MAX_MATCH, noContextSeen, runPattern } from './patterns.ts';
import { nearestAnchor, WINDOW_MERGE } from './proximity.ts';
import { alignRegions, BlankedText, isDateSeparator, ownCopy, padRegions, REGION_MERGE, RegionTracker } from './regions.ts';
import { chainsIn, ownFindings, scanInStretches, stretchPlan, type Stretch } from './stretches.ts';
import type { CompiledDetector, CompiledPattern, CompileOptions, Detection, DetectorSet, ScanOptions } from './types.ts';

export type { AnchorKind, CompileOptions, Detection, DetectorSet, ScanOptions } from './types.ts';
export { redactName } from '../../detectors/library/redact.ts';
export { redactIdentifier } from '../../detectors/library/redact.ts';

const NO_POSITIONS: number[] = [];
/** A stretch's context positions for a detector whose context word is elsewhere in the whole text: none near anything here. */
const ELSEWHERE: number[] = [-(2 ** 40)];
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
  fitsByChance: undefined,
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
  const stretches = wholeText ? undefined : stretchPlan(compiled, opts.stretches);

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
  const nameCache = newNameCache();
  if (compiled.length > 64) throw new Error('at most 64 pattern detectors are supported');

  const versionHash = createHash('sha256');
  for (const d of detectors) versionHash.update(d.id + '\0' + (d.kind === 'pattern' ? d.patterns.join('\0') : '') + '\n');
  versionHash.update('roster:' + (roster?.digest ?? 'none') + ';staff:' + staffMembers.length);
  const version = `detectors-${versionHash.digest('hex').slice(0, 16)}`;

  const scan = (text: string | Buffer, where: string, scanOpts?: ScanOptions): Detection[] => {
    const isString = typeof text === 'string';
    // Findings read their evidence from this text when asked: a Buffer given in is copied, so
    // nothing the caller does with it afterwards changes them.
    const buf = isString ? Buffer.from(text, 'utf8') : scanOpts?.frozen ? text : ownCopy(text);
    if (buf.length === 0) return [];
    // A long text a stretch at a time (stretches.ts): the same findings, faster.
    const out = (stretches && buf.length >= stretches.from ? scanInStretches(buf, stretches, (view, stretch) => scanView(view, where, scanOpts, stretch)) : undefined) ?? scanView(buf, where, scanOpts)!;
    if (isString ? buf.length !== text.length : scanOpts?.utf16) toUtf16Offsets(buf, out, typeof scanOpts?.utf16 === 'object' ? scanOpts.utf16 : undefined);
    return out;
  };

  /**
   * Scan one text, or one stretch of a longer text (`stretch`: then findings only from its own
   * part, in the whole text's offsets, or undefined when the stretch cannot be read alone: see
   * stretches.ts).
   */
  const scanView = (buf: Buffer, where: string, scanOpts: ScanOptions | undefined, stretch?: Stretch): Detection[] | undefined => {
    const n = buf.length;
    const out: Detection[] = [];

    const words = scanWords(buf, ix);
    // Names found from here on are those of the whole text (name-matcher.ts).
    if (stretch && stretch.base > 0 && words.settledFrom > stretch.ownFrom) return undefined;

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

    // A stretch: a detector with a context word in the text read so far has one "in the text" here
    // too (a position no match is near); stretches.ts learns of this stretch's.
    if (stretch) {
      const known = stretch.contextAnywhere;
      for (let d = 0; d < compiled.length; d++) {
        if (contextPos[d] !== NO_POSITIONS) known[d] = 1;
        else if (known[d]) contextPos[d] = ELSEWHERE;
      }
    }

    // 1. Names.
    const anchors: Detection[] = [];
    if (roster) nameDetections(words.names, buf, ix, pupils, where, out, anchors, nameCache, scanOpts?.staffNames === true, stretch);
    const namesEnd = out.length;

    // 2. Identifier-shaped detectors over the digit regions. Byte-level fast paths first (a UPN or
    //    a date on every row of a class list would cost one RE2 call each); what they found is
    //    blanked (regions.ts BlankedText) so the RE2 patterns, run next, report the rest.
    //    Meanwhile the remaining words with digits are grouped into regions, read by RE2 only
    //    where one cluster holds enough digits (see CLUSTER_GAP), so "Year 4" and "3.15pm" cost
    //    nothing.
    let blanked: BlankedText | undefined;
    if (words.digitWords) {
      let fastEnd = -1;
      const digits = words.digits;
      // Every identifier shape has six digits or more (NI, sort code) in one cluster, or a
      // postcode-like word (2AB); a numeric date has four (d/m/yy), and dates only count where the
      // text speaks of birth.
      let dates = false;
      for (const c of textContextDetectors) if (contextPos[c.index].length) dates = true;
      else noContextSeen(c.index);
      const minDateDigits = dates ? 4 : 0x7fffffff;
      // Regions of every word with digits (for the near-context detectors) and of the words no
      // fast path took (for the digit patterns, read with those blanks).
      const allTracker = new RegionTracker(minIdDigits, minDateDigits);
      const openTracker = new RegionTracker(minIdDigits, minDateDigits);
      // Fast paths that can run here (a date only where the text speaks of birth).
      let fastCount = 0;
      for (let f = 0; f < fast.length; f++) {
        const c = fast[f];
        if (c.def.requiresContext === 'text' && contextPos[c.index].length === 0) {
          noContextSeen(c.index);
          continue;
        }
        fastNow[fastCount++] = f;
      }
      // A stretch: its regions are the whole text's from the first one that cannot be joined to a
      // word with digits before the stretch.
      if (stretch && stretch.base > 0 && digits[0] <= REGION_MERGE) {
        let settled = n;
        for (let k = 1; k < words.digitWords; k++) {
          if (digits[3 * k] - digits[3 * k - 2] > REGION_MERGE) {
            settled = digits[3 * k];
            break;
          }
        }
        if (settled > stretch.ownFrom) return undefined;
      }
      for (let k = 0; k < words.digitWords; k++) {
        const st = digits[3 * k];
        const en = digits[3 * k + 1];
        const count = digits[3 * k + 2] & 255;
        // A postcode-like end, or an apostrophe or non-ASCII character inside the word (RE2's
        // ASCII \b can fall inside it, 1AE’s): its region is read whatever its digits.
        const post = digits[3 * k + 2] >> 8;
        const dateJoin = st > 0 && isDateSeparator(buf[st - 1]);
        allTracker.add(st, en, count, post, dateJoin);
        // A word inside what a fast path found is done; one that runs on past it (12/03/2014'5…)
        // is left to RE2 like any other.
        if (st < fastEnd && en <= fastEnd) continue;
        let taken = false;
        const len = en - st;
        for (let q = st < fastEnd ? fastCount : 0; q < fastCount; q++) {
          const f = fastNow[q];
          if (len < fastMinLength[f] || len > fastMaxLength[f]) continue;
          const c = fast[f];
          const e = c.def.tokenMatch!(buf, st);
          if (e <= st) continue;
          considerMatch(c, st, e, st, buf, contextPos, where, out, anchors, true);
          blanked ??= new BlankedText(buf);
          blanked.blank(st, e);
          fastEnd = e;
          taken = true;
          break;
        }
        if (taken) continue;
        openTracker.add(st, en, count, post, dateJoin);
      }
      allTracker.close();
      openTracker.close();
      const all = allTracker.regions;
      const open = openTracker.regions;
      if (wholeText) {
        all.splice(0, all.length, 0, n);
        open.splice(0, open.length, 0, n);
      }

      // RE2 reads ~600 MB/s, so each extra pass over a whole text would cost as much as the
      // word scan itself: only the regions are searched.
      let nearWanted = false;
      for (const c of nearContextDetectors) if (contextPos[c.index].length) nearWanted = true;
      else noContextSeen(c.index);
      if (!blanked && allSet) {
        // Nothing blanked: one Set pass serves both kinds.
        const regions = padRegions(buf, all);
        for (let r = 0; r < regions.length; r += 2) {
          const sub = buf.subarray(regions[r], regions[r + 1]);
          for (const p of allSet.match(sub)) {
            const cp = allPatterns[p];
            const c = compiled[cp.detector];
            if (c.def.requiresContext && contextPos[c.index].length === 0) {
              noContextSeen(c.index);
              continue;
            }
            runPattern(c, cp, sub, regions[r], buf, contextPos, where, out, anchors);
          }
        }
      } else {
        if (digitSet && open.length) {
          const regions = padRegions(buf, open);
          for (let r = 0; r < regions.length; r += 2) {
            const sub = blanked ? blanked.region(regions[r], regions[r + 1]) : buf.subarray(regions[r], regions[r + 1]);
            for (const p of digitSet.match(sub)) {
              const cp = digitPatterns[p];
              const c = compiled[cp.detector];
              // A date is a date of birth only in a text that says so somewhere.
              if (c.def.requiresContext === 'text' && contextPos[c.index].length === 0) {
                noContextSeen(c.index);
                continue;
              }
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
              if (contextPos[c.index].length === 0) {
                noContextSeen(c.index);
                continue;
              }
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
      const at = positionsOf(c.index);
      for (let k = 0; k < at.length; k++) {
        const pos = at[k];
        if (windows.length && pos - w.before <= windows[windows.length - 1]) windows[windows.length - 1] = pos + w.after;
        else windows.push(pos - w.before, pos + w.after);
      }
      const aligned = alignRegions(buf, windows);
      if (stretch && chainsIn(aligned, stretch)) return undefined;
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
        for (let k = 0; k < anchors.length; k++) {
          cover[anchors[k].start >> 6] = 1;
          cover[(anchors[k].end - 1) >> 6] = 1;
        }
      }
      // Windows around the keywords of every triggered vocabulary detector that lie near an
      // anchor; one RE2.Set pass per window says which vocabularies really occur there.
      const windows: number[] = [];
      for (const c of proximityDetectors) {
        if (!triggered[c.index]) continue;
        const reach = c.def.proximity!.window + MAX_MATCH;
        const w = c.def.keywordWindow ?? DEFAULT_KEYWORD_WINDOW;
        const at = positionsOf(c.index);
        for (let k = 0; k < at.length; k++) {
          const pos = at[k];
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
        for (let k = 0; k < order.length; k++) {
          const key = order[k];
          const st = Math.floor(key / 4096);
          sorted.push(st, st + (key % 4096));
        }
        // Windows closer than one RE2 call's worth of reading are read as one.
        const aligned = alignRegions(buf, sorted, WINDOW_MERGE);
        if (stretch && chainsIn(aligned, stretch)) return undefined;
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
        for (let k = 0; k < found.length; k++) {
          const d = found[k];
          const near = nearestAnchor(anchors, d.start, d.end, compiled[detectorIndex.get(d.detector)!].def.proximity!.window);
          if (!near) continue;
          d.near = near;
          d.strength = near.strength;
          d.score = near.strength === 'strong' ? d.score : Math.min(d.score, 0.45);
          out.push(d);
        }
      }
    }

    // Keep no message text between scans: the scratch copy of blanked regions is wiped.
    blanked?.wipe();
    if (stretch) return ownFindings(out, namesEnd, stretch);
    sortByStart(out);
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

