// Findings in text order, and their offsets in the caller's terms (UTF-16 for a string).
import type { Detection } from './types.ts';
import { Utf8Offsets } from './utf16.ts';

/** Sort findings by position; most scans produce them nearly in order already. */
export function sortByStart(ds: Detection[]): void {
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

export function mergeByStart(a: Detection[], b: Detection[]): Detection[] {
  const out: Detection[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = b[j].start < a[i].start ? b[j++] : a[i++];
  while (i < a.length) out[k++] = a[i++];
  while (j < b.length) out[k++] = b[j++];
  return out;
}

/** Convert byte offsets in `buf` (UTF-8) to UTF-16 indices into the string it decodes to, in place. */
export function toUtf16Offsets(buf: Buffer, ds: Detection[], offsets = new Utf8Offsets(buf)): void {
  if (offsets.ascii) return; // all ASCII: bytes and UTF-16 units agree
  for (let k = 0; k < ds.length; k++) {
    const d = ds[k];
    d.start = offsets.toUtf16(d.start);
    d.end = offsets.toUtf16(d.end);
    if (d.mentions) for (let q = 0; q < d.mentions.length; q++) d.mentions[q] = offsets.toUtf16(d.mentions[q]);
  }
}
