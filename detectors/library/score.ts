// Shared, frozen Score values: a scan can produce thousands of findings, and allocating a fresh
// { strength, score } for each one shows up in the benchmark.
import type { Score } from './types.ts';

const STRONG: Score[] = [];
const WEAK: Score[] = [];
for (let i = 0; i <= 100; i++) {
  STRONG.push(Object.freeze({ strength: 'strong', score: i / 100 }));
  WEAK.push(Object.freeze({ strength: 'weak', score: i / 100 }));
}

export function strong(score: number): Score {
  return STRONG[Math.round(Math.min(1, Math.max(0, score)) * 100)];
}

export function weak(score: number): Score {
  return WEAK[Math.round(Math.min(1, Math.max(0, score)) * 100)];
}
