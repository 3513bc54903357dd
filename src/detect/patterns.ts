// Running one compiled pattern over a stretch of text, and judging each candidate: its validator
// (checksum), its context words, its detector's score. Every phase that reads text with RE2 ends
// here.
import type { PatternDetector } from '../../detectors/library/types.ts';
import { Finding } from './finding.ts';
import { isWordByte } from './regions.ts';
import type { CompiledDetector, CompiledPattern, Detection } from './types.ts';

/** Longest match any pattern detector produces, for windows around context words. */
export const MAX_MATCH = 64;

/**
 * While a stretch of a long text is scanned (stretches.ts): the detectors for which having no
 * context word in the text read so far made a difference (a pattern skipped, a candidate scored
 * without one). If one of them has a context word later in the text, the text is scanned again.
 */
let noContextLog: Uint8Array | null = null;

export function logNoContext(into: Uint8Array | null): void {
  noContextLog = into;
}

/** Detector `d` has no context word in the text (as far as is known), and a decision rests on it. */
export function noContextSeen(d: number): void {
  if (noContextLog) noContextLog[d] = 1;
}

export function hasContextNear(positions: number[], from: number, to: number): boolean {
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

export function runPattern(
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
export function considerMatch(
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
  if (ctx.length === 0) noContextSeen(c.index);
  f.setContext(def.context ? hasContextNear(ctx, mStart - def.context.before, mEnd + def.context.after) : false, ctx.length > 0);
  const s = def.score(f);
  if (!s) return;
  f.strength = s.strength;
  f.score = s.score;
  out.push(f);
  if (anchors && (def.category === 'identifier' || def.category === 'date-of-birth')) anchors.push(f);
}
