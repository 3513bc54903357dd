// All detectors compiled once into a DetectorSet that scans a text in (close to) one pass:
//
//  1. The byte-level word scanner (src/roster/name-matcher.ts) walks the UTF-8 bytes once: it
//     matches roster names, notes every keyword word (prefilter and context words of the pattern
//     detectors) and the regions holding words with digits.
//  2. Identifier detectors (prefilter 'digits') run only over those digit regions: one RE2.Set
//     pass says which of their patterns occur at all, then only those patterns are run to find
//     where.
//  3. Keyword detectors (passwords) run only when one of their keywords was seen.
//  4. Special-category vocabulary runs only when one of its keywords was seen AND there is an
//     anchor (pupil name, identifier or date of birth); a term is reported only within its
//     window of an anchor, carrying `near`.
//
// Every pattern is RE2 (linear time, no backtracking); no JavaScript RegExp touches message text.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import RE2 from 're2';
import { DETECTORS, checkRegistry, patternDetectors, rosterDetector } from '../../detectors/index.ts';
import type { Detector, PatternDetector, MatchInfo, DetectionCategory } from '../../detectors/types.ts';
import { redactName } from '../../detectors/redact.ts';
import { buildNameIndex, type NameIndex, type NameSource, F_FORENAME, F_SURNAME, F_ORDINARY, V_SURNAME_FIRST, V_PREFERRED } from '../roster/name-index.ts';
import { scanWords, HIT_STRONG, HIT_WEAK_NAME, HIT_WEAK_WORD, type NameHit } from '../roster/name-matcher.ts';
import type { Roster, StaffList, StaffMember, Pupil } from '../roster/types.ts';

export { redactName } from '../../detectors/redact.ts';
export { redactIdentifier } from '../../detectors/redact.ts';

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
}

interface CompiledPattern {
  detector: number;
  re: RE2;
  hasValueGroup: boolean;
}

interface CompiledDetector {
  def: PatternDetector;
  index: number;
  patterns: CompiledPattern[];
}

const REGION_PAD = 64;

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

  const compiled: CompiledDetector[] = pattern.map((def, index) => {
    const flags = 'g' + (def.caseSensitive ? '' : 'i');
    const patterns = def.patterns.map((src) => {
      let re: RE2;
      try {
        re = new RE2(src, flags);
      } catch (e) {
        throw new Error(`detector ${def.id}: pattern does not compile with RE2: ${(e as Error).message}`);
      }
      return { detector: index, re, hasValueGroup: src.includes('(?P<value>') };
    });
    for (const w of def.keywords ?? []) triggersOf[kw(w)].push(index);
    for (const w of def.context?.words ?? []) contextOf[kw(w)].push(index);
    return { def, index, patterns };
  });

  // One RE2.Set over every digit-prefiltered pattern: which of them occur in a region at all.
  const digitPatterns: CompiledPattern[] = [];
  const setSources: string[] = [];
  for (const c of compiled) {
    if (c.def.prefilter !== 'digits') continue;
    c.def.patterns.forEach((src, k) => {
      digitPatterns.push(c.patterns[k]);
      setSources.push(c.def.caseSensitive ? src : `(?i:${src})`);
    });
  }
  const digitSet = setSources.length ? new RE2.Set(setSources, '', { maxMem: 64 << 20 }) : undefined;
  const keywordDetectors = compiled.filter((c) => c.def.keywords?.length && !c.def.proximity);
  const proximityDetectors = compiled.filter((c) => c.def.proximity);

  // Name index (always built: it also carries the keywords).
  const roster = withNames ? opts.roster : undefined;
  const staffMembers = Array.isArray(opts.staff) ? opts.staff : (opts.staff?.members ?? []);
  const ix = buildNameIndex({
    pupils: roster ? roster.pupils.map(pupilNameSource) : [],
    staff: staffMembers.map((s) => ({ forenames: [s.forename, ...(s.otherForenames ?? [])], surnames: [s.surname] })),
    keywords: keywordWords,
  });
  const pupils = roster?.pupils ?? [];

  const versionHash = createHash('sha256');
  for (const d of detectors) versionHash.update(d.id + '\0' + (d.kind === 'pattern' ? d.patterns.join('\0') : '') + '\n');
  versionHash.update('roster:' + (roster?.digest ?? 'none') + ';staff:' + staffMembers.length);
  const version = `detectors-${versionHash.digest('hex').slice(0, 16)}`;

  const scan = (text: string | Buffer, where: string): Detection[] => {
    const isString = typeof text === 'string';
    const buf = isString ? Buffer.from(text, 'utf8') : text;
    const n = buf.length;
    const out: Detection[] = [];
    if (n === 0) return out;

    const words = scanWords(buf, ix);

    // Keyword hits → which detectors are triggered, and where each detector's context words are.
    const triggered = new Uint8Array(compiled.length);
    const contextPos: number[][] = compiled.map(() => []);
    const kh = words.keywordHits;
    for (let k = 0; k < kh.length; k += 3) {
      const id = kh[k];
      for (const d of triggersOf[id]) triggered[d] = 1;
      for (const d of contextOf[id]) contextPos[d].push(kh[k + 1]);
    }

    // 1. Names.
    const anchors: Detection[] = [];
    if (roster) {
      for (const h of words.names) {
        const d = nameDetection(h, buf, ix, pupils, where);
        if (d) {
          out.push(d);
          anchors.push(d);
        }
      }
    }

    // 2. Identifier-shaped detectors over the digit regions.
    if (digitSet && words.digitRegions.length) {
      const regions = padRegions(buf, words.digitRegions);
      const seen = new Set<string>();
      for (let r = 0; r < regions.length; r += 2) {
        const base = regions[r];
        const sub = buf.subarray(base, regions[r + 1]);
        const hits = digitSet.match(sub);
        for (const p of hits) {
          const cp = digitPatterns[p];
          runPattern(compiled[cp.detector], cp, sub, base, buf, contextPos, where, out, anchors, seen);
        }
      }
    }

    // 3. Keyword-triggered detectors over the whole text.
    for (const c of keywordDetectors) {
      if (!triggered[c.index]) continue;
      const seen = new Set<string>();
      for (const cp of c.patterns) runPattern(c, cp, buf, 0, buf, contextPos, where, out, anchors, seen);
    }

    // 4. Special-category vocabulary, only near an anchor.
    if (anchors.length) {
      anchors.sort((a, b) => a.start - b.start);
      for (const c of proximityDetectors) {
        if (!triggered[c.index]) continue;
        const found: Detection[] = [];
        const seen = new Set<string>();
        for (const cp of c.patterns) runPattern(c, cp, buf, 0, buf, contextPos, where, found, null, seen);
        for (const d of found) {
          const near = nearestAnchor(anchors, d.start, d.end, c.def.proximity!.window);
          if (!near) continue;
          d.near = near;
          d.strength = near.strength;
          d.score = near.strength === 'strong' ? d.score : Math.min(d.score, 0.45);
          out.push(d);
        }
      }
    }

    out.sort((a, b) => a.start - b.start || a.end - b.end);
    if (isString && buf.length !== text.length) toUtf16Offsets(buf, out);
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

function nameDetection(h: NameHit, buf: Buffer, ix: NameIndex, pupils: Pupil[], where: string): Detection | undefined {
  const raw = buf.toString('utf8', h.start, h.end);
  const evidence = redactName(raw);
  if (h.kind === HIT_STRONG || h.kind === HIT_WEAK_NAME) {
    const vf = ix.variantFlags[h.ref];
    const ids = ix.variantPupils[h.ref].map((p) => pupils[p].id);
    const form = vf & V_SURNAME_FIRST ? 'surname-forename' : 'forename-surname';
    const which = vf & V_PREFERRED ? "preferred name" : 'name';
    const count = ids.length === 1 ? 'a pupil' : `${ids.length} pupils`;
    if (h.kind === HIT_STRONG) {
      return {
        detector: 'pupil-name', where, start: h.start, end: h.end, evidence, strength: 'strong', score: 0.9,
        reason: `The full ${which} of ${count} on the school roster (${form === 'surname-forename' ? 'surname first' : 'forename and surname'})`,
        pupilIds: ids, category: 'name', nameForm: form,
      };
    }
    return {
      detector: 'pupil-name', where, start: h.start, end: h.end, evidence, strength: 'weak',
      score: h.note === 'also-staff' ? 0.5 : 0.4,
      reason:
        h.note === 'also-staff'
          ? `The full ${which} of ${count} on the roster, which is also a member of staff's name`
          : `The full ${which} of ${count} on the roster, written in lower case and made of ordinary words`,
      pupilIds: ids, category: 'name', nameForm: form,
    };
  }
  if (h.kind === HIT_WEAK_WORD) {
    const f = ix.wordFlags[h.ref];
    const count = ix.wordPupilCount[h.ref];
    const asForename = (f & F_FORENAME) !== 0;
    const part = asForename && f & F_SURNAME ? 'forename or surname' : asForename ? 'forename' : 'surname';
    const list = ix.wordPupils[h.ref];
    return {
      detector: 'pupil-name', where, start: h.start, end: h.end, evidence, strength: 'weak',
      score: f & F_ORDINARY ? 0.1 : 0.25,
      reason: `The ${part} of ${count === 1 ? 'a pupil' : `${count} pupils`} on the roster, alone (not a full name)`,
      pupilIds: list && count <= list.length ? list.map((p) => pupils[p].id) : undefined,
      category: 'name', nameForm: asForename ? 'forename' : 'surname',
    };
  }
  return undefined;
}

/** Widen digit regions so patterns that start or end with letters ("12 March 2014") fit, on word boundaries. */
function padRegions(buf: Buffer, regions: number[]): number[] {
  const n = buf.length;
  const out: number[] = [];
  let total = 0;
  for (let r = 0; r < regions.length; r += 2) {
    let s = Math.max(0, regions[r] - REGION_PAD);
    let e = Math.min(n, regions[r + 1] + REGION_PAD);
    while (s > 0 && isWordByte(buf[s - 1]) && isWordByte(buf[s])) s--;
    while (e < n && isWordByte(buf[e - 1]) && isWordByte(buf[e])) e++;
    if (out.length && s <= out[out.length - 1]) out[out.length - 1] = Math.max(out[out.length - 1], e);
    else out.push(s, e);
  }
  for (let r = 0; r < out.length; r += 2) total += out[r + 1] - out[r];
  // Mostly digits anyway: one pass over the whole text is cheaper than many small ones.
  if (total > n * 0.6) return [0, n];
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
  seen: Set<string>,
): void {
  const def = c.def;
  const re = cp.re;
  re.lastIndex = 0;
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
    let vStart = mStart;
    let vEnd = mEnd;
    if (cp.hasValueGroup && m.groups?.value) vStart = mEnd - m.groups.value.length;
    if (def.trimTrailing) {
      while (vEnd - 1 > vStart && def.trimTrailing.includes(String.fromCharCode(buf[vEnd - 1]))) vEnd--;
    }
    const key = `${c.index}:${vStart}:${vEnd}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const value = buf.toString('utf8', vStart, vEnd);
    const validated = def.validate ? def.validate(value) : undefined;
    if (validated === false) continue;
    const ctx = contextPos[c.index];
    const info: MatchInfo = {
      value,
      match: vStart === mStart && vEnd === mEnd ? value : buf.toString('utf8', mStart, mEnd),
      validated,
      contextNear: def.context ? hasContextNear(ctx, mStart - def.context.before, mEnd + def.context.after) : false,
      contextInText: ctx.length > 0,
    };
    const s = def.score(info);
    if (!s) continue;
    const d: Detection = {
      detector: def.id,
      where,
      start: vStart,
      end: vEnd,
      evidence: def.redact(value),
      reason: def.reason(info),
      strength: s.strength,
      score: s.score,
      category: def.category,
    };
    if (validated !== undefined) d.validated = validated;
    out.push(d);
    if (anchors && (def.category === 'identifier' || def.category === 'date-of-birth')) anchors.push(d);
  }
}

function anchorKind(d: Detection): AnchorKind {
  if (d.category === 'name') return d.strength === 'strong' ? 'pupil-name' : 'pupil-name-part';
  if (d.category === 'date-of-birth') return 'date-of-birth';
  return 'identifier';
}

/** The best anchor within `window` bytes of [start, end): strong before weak, then nearest. */
function nearestAnchor(anchors: Detection[], start: number, end: number, window: number): Detection['near'] | undefined {
  let best: Detection | undefined;
  let bestDist = Infinity;
  for (const a of anchors) {
    if (a.start > end + window) break;
    if (a.end < start - window) continue;
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

/** Convert byte offsets to UTF-16 indices in place (only for non-ASCII string input). */
function toUtf16Offsets(buf: Buffer, ds: Detection[]): void {
  const offsets = new Set<number>();
  for (const d of ds) {
    offsets.add(d.start);
    offsets.add(d.end);
  }
  const sorted = [...offsets].sort((a, b) => a - b);
  const map = new Map<number, number>();
  let units = 0;
  let k = 0;
  for (let i = 0; i <= buf.length && k < sorted.length; i++) {
    while (k < sorted.length && sorted[k] === i) map.set(sorted[k++], units);
    if (i === buf.length) break;
    const b = buf[i];
    if ((b & 0xc0) !== 0x80) units += b >= 0xf0 ? 2 : 1;
  }
  for (const d of ds) {
    d.start = map.get(d.start) ?? d.start;
    d.end = map.get(d.end) ?? d.end;
  }
}

const WEBMAIL_FILE = new URL('../../config/webmail-domains.txt', import.meta.url);

/** Personal webmail domains (config/webmail-domains.txt) plus the school's own additions. */
export function loadWebmailDomains(extra: string[] = []): Set<string> {
  const domains = new Set<string>();
  const add = (line: string) => {
    const hash = line.indexOf('#');
    let d = (hash >= 0 ? line.slice(0, hash) : line).trim().toLowerCase();
    if (d.startsWith('@')) d = d.slice(1);
    if (d.endsWith('.')) d = d.slice(0, -1);
    if (d) domains.add(d);
  };
  for (const line of readFileSync(WEBMAIL_FILE, 'utf8').split('\n')) add(line);
  for (const e of extra) add(e);
  return domains;
}

/** Is this address (or bare domain) at a personal webmail provider? Subdomains count. */
export function isWebmailAddress(addressOrDomain: string, domains: Set<string>): boolean {
  const at = addressOrDomain.lastIndexOf('@');
  let d = (at >= 0 ? addressOrDomain.slice(at + 1) : addressOrDomain).trim().toLowerCase();
  if (d.endsWith('.')) d = d.slice(0, -1);
  for (;;) {
    if (domains.has(d)) return true;
    const dot = d.indexOf('.');
    if (dot < 0) return false;
    d = d.slice(dot + 1);
  }
}
