// A long text scanned a stretch at a time, with the same findings as in one go.
//
// One 20 MB text scanned whole keeps every word list, name hit and window of the whole text alive
// until the end of the scan: V8 copies them from young memory to old, the caches miss, and memory
// is touched afresh; read 512 KB at a time the scan took about a fifth less CPU and touched half
// the fresh memory (bench/check, BENCHMARKS.md). So a long text is
// cut into stretches, each read with a margin of the text around it (what its findings' context
// words, anchors and windows can reach), and each keeps only the findings that start in its own part.
// What the margin cannot carry is handed on:
//  - whether a detector's context word occurs anywhere in the text ("date of birth" at the top of a
//    list makes every date below a date of birth): each stretch is told of those in the text read
//    so far, and notes where the want of one made a difference; a stretch that did without one
//    that a later stretch has is read again (keeping the names it counted the first time);
//  - a single name word is one finding per text, counting its occurrences: the stretches share
//    the first finding of each word;
//  - name runs ("Dylan Hussain Samuel Kenworthe…" read greedily from the start of the run),
//    regions of words with digits (joined when closer than REGION_MERGE) and windows around
//    keywords (joined when they overlap) can chain without end: a stretch reads alone only if each
//    starts afresh inside its margin, before its own part; if not (a list of nothing but names a
//    megabyte long), the text is scanned whole.
// test/detect-stretches.test.ts compares both ways on long texts, class lists included.
import type { NameStretch } from './names.ts';
import { sortByStart } from './order.ts';
import { logNoContext, MAX_MATCH } from './patterns.ts';
import { MAX_ANCHOR, WINDOW_MERGE } from './proximity.ts';
import type { CompiledDetector, Detection, StretchOptions } from './types.ts';

export interface Stretch extends NameStretch {
  /**
   * Per compiled detector: 1 when one of its context words occurs in the text read so far (or in
   * the whole text, when it is read again); the stretch adds its own.
   */
  contextAnywhere: Uint8Array;
  /** Its own names, noted the first time it is read. */
  names: Detection[];
  /** StretchPlan.reach. */
  reach: number;
}

export interface StretchPlan {
  /** Size of each stretch's own part. */
  bytes: number;
  /** How far any detector's window reaches from the word it is around. */
  reach: number;
  /** Text read on each side of it. */
  margin: number;
  /** Texts shorter than this are scanned whole. */
  from: number;
  detectors: number;
}

/** Scans in stretches and scans whole, for the tests. */
export const stretchCounts = { stretched: 0, again: 0, whole: 0 };

const DEFAULT_BYTES = 512 << 10;
const MIN_MARGIN = 16 << 10;

/** The plan for a compiled set: the margin covers the widest reach of any of its detectors. */
export function stretchPlan(compiled: CompiledDetector[], opts: StretchOptions | false | undefined): StretchPlan | undefined {
  if (opts === false) return undefined;
  let reach = 0;
  for (const c of compiled) {
    const d = c.def;
    const kw = d.keywordWindow ? d.keywordWindow.before + d.keywordWindow.after : 128;
    if (d.proximity) reach = Math.max(reach, d.proximity.window + MAX_ANCHOR + MAX_MATCH + kw + WINDOW_MERGE);
    if (d.keywords?.length) reach = Math.max(reach, kw + WINDOW_MERGE + MAX_MATCH);
    if (d.context) reach = Math.max(reach, d.context.before + d.context.after + MAX_MATCH);
  }
  const bytes = opts?.bytes ?? DEFAULT_BYTES;
  const margin = opts?.margin ?? Math.max(MIN_MARGIN, 4 * reach);
  if (margin >= bytes) throw new Error(`a stretch (${bytes} bytes) must be longer than its margin (${margin})`);
  return { bytes, reach, margin, from: opts?.from ?? 4 * bytes, detectors: compiled.length };
}

/**
 * Scan `buf` a stretch at a time with `scanOne` (which returns a stretch's own findings in the
 * whole text's offsets, or undefined when it cannot be read alone). Undefined when the text is to
 * be scanned whole.
 */
export function scanInStretches(buf: Buffer, plan: StretchPlan, scanOne: (view: Buffer, stretch: Stretch) => Detection[] | undefined): Detection[] | undefined {
  const n = buf.length;
  const cuts = [0];
  for (let at = plan.bytes; at < n - plan.bytes / 2; at = cuts[cuts.length - 1] + plan.bytes) cuts.push(at);
  cuts.push(n);
  if (cuts.length < 3) {
    stretchCounts.whole++;
    return undefined;
  }
  // Each stretch is read with what is known of context words so far (the text before it and its
  // own), and notes the detectors for which the want of one made a difference.
  const known = new Uint8Array(plan.detectors);
  const firstOfWord = new Map<number, Detection>();
  const stretches: Stretch[] = [];
  const found: Detection[][] = [];
  const missed: Uint8Array[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const lo = Math.max(0, cuts[i] - plan.margin);
    const stretch: Stretch = { firstOfWord, ownFrom: cuts[i] - lo, ownTo: cuts[i + 1] - lo, base: lo, contextAnywhere: known, anchorsOnly: false, names: [], reach: plan.reach };
    const log = new Uint8Array(plan.detectors);
    const own = scanStretch(buf, plan, cuts, i, stretch, log, scanOne);
    if (!own) return undefined;
    stretches.push(stretch);
    found.push(own);
    missed.push(log);
  }
  // A stretch that missed a context word a later stretch has is read again, with the whole
  // text's (its names, already counted, are kept).
  for (let i = 0; i < stretches.length; i++) {
    let again = false;
    for (let d = 0; d < known.length; d++) if (missed[i][d] && known[d]) again = true;
    if (!again) continue;
    stretchCounts.again++;
    const own = scanStretch(buf, plan, cuts, i, { ...stretches[i], anchorsOnly: true }, null, scanOne);
    if (!own) return undefined;
    found[i] = own;
  }
  stretchCounts.stretched++;
  return ([] as Detection[]).concat(...found);
}

function scanStretch(
  buf: Buffer,
  plan: StretchPlan,
  cuts: number[],
  i: number,
  stretch: Stretch,
  missed: Uint8Array | null,
  scanOne: (view: Buffer, stretch: Stretch) => Detection[] | undefined,
): Detection[] | undefined {
  const lo = Math.max(0, cuts[i] - plan.margin);
  const hi = Math.min(buf.length, cuts[i + 1] + plan.margin);
  logNoContext(missed);
  let own: Detection[] | undefined;
  try {
    own = scanOne(buf.subarray(lo, hi), stretch);
  } finally {
    logNoContext(null);
  }
  if (!own) stretchCounts.whole++;
  return own;
}

/**
 * Windows around keywords that overlap or nearly touch are read as one region, and RE2 reads a
 * region's matches one after another from its start: a chain of them from the start of the
 * stretch into its own part may have begun before the stretch ("password is password is …"),
 * and be read in step differently. Such a stretch is not read alone (`regions`: start, end pairs).
 */
export function chainsIn(regions: number[], stretch: Stretch): boolean {
  if (stretch.base === 0) return false;
  for (let r = 0; r < regions.length; r += 2) if (regions[r + 1] > stretch.ownFrom && regions[r] <= stretch.reach) return true;
  return false;
}

/**
 * A stretch's findings that start in its own part, in the whole text's offsets, in text order
 * (`out`: its findings, names first, up to `namesEnd`). Its names are noted on it; read again, it
 * has them from the first time.
 */
export function ownFindings(out: Detection[], namesEnd: number, stretch: Stretch): Detection[] {
  const own: Detection[] = stretch.anchorsOnly ? [...stretch.names] : [];
  for (let k = 0; k < out.length; k++) {
    const d = out[k];
    if (d.start < stretch.ownFrom || d.start >= stretch.ownTo) continue;
    d.start += stretch.base;
    d.end += stretch.base;
    own.push(d);
    if (k < namesEnd) stretch.names.push(d);
  }
  sortByStart(own);
  return own;
}
