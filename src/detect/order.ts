// Findings in text order, and their offsets in the caller's terms (UTF-16 for a string).
import { isAscii } from 'node:buffer';
import type { Detection } from './types.ts';

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

/** Bytes per block that isAscii() clears at once (native, vectorised). */
const ASCII_BLOCK = 4096;

/** Convert byte offsets to UTF-16 indices in place (only for non-ASCII string input). */
export function toUtf16Offsets(buf: Buffer, ds: Detection[]): void {
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
  if (!fix.length) return; // all ASCII: bytes and UTF-16 units agree
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
