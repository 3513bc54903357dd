// The module graph has no cycles: each stage imports the ones before it, never back. A cycle
// makes the order in which modules run depend on which one is imported first (half-initialised
// exports), and it is the first sign that two files share a job that belongs in one.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...sources(full));
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

/** Static imports (types included: a type-only cycle still ties two files' jobs together). */
export function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(?:import|export)\s[^'"]*?from\s+'(\.{1,2}\/[^']+)'/.exec(line) ?? /^\s*import\s+'(\.{1,2}\/[^']+)'/.exec(line);
    if (m) found.push(path.resolve(path.dirname(file), m[1]));
  }
  return found;
}

export function findCycles(files: string[]): string[][] {
  const graph = new Map(files.map((f) => [f, importsOf(f).filter((t) => files.includes(t))]));
  const cycles: string[][] = [];
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, 1);
    stack.push(f);
    for (const t of graph.get(f) ?? []) {
      if (state.get(t) === 1) cycles.push([...stack.slice(stack.indexOf(t)), t].map((x) => path.relative(ROOT, x)));
      else if (!state.has(t)) visit(t);
    }
    stack.pop();
    state.set(f, 2);
  };
  for (const f of files) if (!state.has(f)) visit(f);
  return cycles;
}

describe('the module graph', () => {
  it('has no import cycles in src/ and detectors/', () => {
    const files = [...sources(path.join(ROOT, 'src')), ...sources(path.join(ROOT, 'detectors'))];
    expect(files.length).toBeGreaterThan(50);
    expect(findCycles(files).map((c) => c.join(' → '))).toEqual([]);
  });

  it('finds a cycle when there is one (type-only imports included)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hm-cycle-'));
    try {
      writeFileSync(path.join(dir, 'a.ts'), "import { b } from './b.ts';\nexport const a = 1;\n");
      writeFileSync(path.join(dir, 'b.ts'), "import type { C } from './c.ts';\nexport const b = 2;\n");
      writeFileSync(path.join(dir, 'c.ts'), "export { a as C } from './a.ts';\n");
      const files = ['a.ts', 'b.ts', 'c.ts'].map((f) => path.join(dir, f));
      expect(findCycles(files)).toHaveLength(1);
      writeFileSync(path.join(dir, 'c.ts'), 'export type C = number;\n');
      expect(findCycles(files)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
