// Byte-level helpers for detectors' fast paths (exact equivalents of a pattern's common shape).

/** RE2's \b word characters: ASCII letters, digits, underscore. */
export function isAsciiWordByte(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

export function isDigitByte(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Would RE2's \b hold just before `i` for a match starting with a word character? */
export function boundaryBefore(buf: Uint8Array, i: number): boolean {
  return i === 0 || !isAsciiWordByte(buf[i - 1]);
}

/** Would RE2's \b hold at `i` after a match ending with a word character? */
export function boundaryAfter(buf: Uint8Array, i: number): boolean {
  return i >= buf.length || !isAsciiWordByte(buf[i]);
}

/** Length of the run of ASCII digits at i (stops counting at `max` + 1). */
export function digitRun(buf: Uint8Array, i: number, max: number): number {
  let k = 0;
  while (i + k < buf.length && k <= max && isDigitByte(buf[i + k])) k++;
  return k;
}
