// Phase 4 of a scan: special-category vocabulary is reported only near an anchor (a pupil's name,
// an identifier, a date of birth); this finds the best anchor for a term.
import type { AnchorKind, Detection } from './types.ts';

/** Longest anchor (pupil name, identifier, date) in bytes. */
export const MAX_ANCHOR = 512;

/** Keyword windows this close are read as one (RE2 reads ~200 bytes in the time one call costs). */
export const WINDOW_MERGE = 128;

export function anchorKind(d: Detection): AnchorKind {
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
export function nearestAnchor(anchors: Detection[], start: number, end: number, window: number): Detection['near'] | undefined {
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
