// How configuration problems are collected and worded: one list for the whole file, each line
// naming the key path, so the IT lead fixes everything in one pass.
import path from 'node:path';
import { readFileSync } from 'node:fs';

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super(`Configuration ${source} is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Collects problems found outside the schema (src/config/schema.ts): files that must be read,
 * certificates and keys that must parse, detector documents (shared with the shipped detectors).
 */
export class Problems {
  readonly found: string[] = [];
  add(problem: string): void {
    this.found.push(problem);
  }
  throwIfAny(source: string): void {
    if (this.found.length) throw new ConfigError(source, this.found);
  }
  /** The file's text, resolved from baseDir; undefined (and a problem naming the key) when it cannot be read. */
  readableFile(v: string, key: string, baseDir: string): string | undefined {
    const full = path.resolve(baseDir, v);
    try {
      return readFileSync(full, 'utf8');
    } catch (err) {
      this.add(`${key}: cannot read ${full} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      return undefined;
    }
  }
}

/** "school.buisness_manager: unknown key (did you mean school.business_manager?) (known keys here: …)" */
export function unknownKeyMessage(prefix: string, key: string, known: readonly string[]): string {
  const near = closest(key, known);
  return `${prefix}${key}: unknown key${near ? ` (did you mean ${prefix}${near}?)` : ''} (known keys here: ${known.join(', ')})`;
}

/** The known key a misspelt one was most likely meant to be: within a third of its length in edits. */
function closest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(word.length / 3)) + 1;
  for (const k of known) {
    const d = editDistance(word.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

/** Optimal string alignment distance (a swap of two neighbours counts once): "buisness" → "business" is 1. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 8 || a.length > 64 || b.length > 64) return 99;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** A value as the messages show it: `string "thirty"`, `number 3`, `a list`, `nothing`. */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}
