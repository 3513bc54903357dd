// Runs the relay's own examination (src/examine.ts) over the labelled corpus and scores it:
// per-rule precision and recall, false holds on ordinary mail, positives held. Shared by
// test/policy-corpus.test.ts and bench/policy/run.ts so both measure exactly the same thing.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadPolicy, RULE_IDS, type Policy } from '../../src/decide/index.ts';
import { createExaminer, type Examiner } from '../../src/examine.ts';
import type { Action, Envelope } from '../../src/types.ts';
import type { CorpusLabel } from './build.ts';
import { PARTNER_DOMAIN, ROSTER_PATH, SCHOOL_DOMAIN } from './roster.ts';

/** The policy the corpus is labelled against: shipped defaults, Oakfield's domains and roster. */
export function corpusPolicy(): Policy {
  return loadPolicy({
    source: 'policy corpus',
    school: { domains: [SCHOOL_DOMAIN], partner_domains: [PARTNER_DOMAIN], roster: ROSTER_PATH },
    policy: {},
  });
}

export function corpusExaminer(): Promise<Examiner> {
  return createExaminer({ policy: corpusPolicy() });
}

export interface CorpusResult {
  label: CorpusLabel;
  action: Action;
  rules: string[];
  /** Redacted findings (rule, detector, where, reason) for failure messages. */
  findings: Array<{ rule?: string; detector: string; where: string; evidence: string; reason: string }>;
  ms: number;
}

export function envelopeFor(label: CorpusLabel): Envelope {
  return { mailFrom: label.from, mailFromParams: {}, rcptTo: label.to.map((address) => ({ address })) };
}

export async function examineCorpus(examiner: Examiner, dir: string, labels: CorpusLabel[]): Promise<CorpusResult[]> {
  const results: CorpusResult[] = [];
  for (const label of labels) {
    const raw = readFileSync(path.join(dir, label.file));
    const { verdict, ms } = await examiner.examine(raw, envelopeFor(label));
    results.push({
      label,
      action: verdict.action,
      rules: [...new Set(verdict.rules)].sort(),
      findings: verdict.findings.map((f) => ({ rule: f.rule, detector: f.detector, where: f.where, evidence: f.evidence, reason: f.reason })),
      ms,
    });
  }
  return results;
}

export interface RuleScore {
  rule: string;
  /** Messages labelled with the rule. */
  labelled: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  /** undefined when the rule never fired (no precision to speak of). */
  precision?: number;
  /** undefined when no message is labelled with the rule. */
  recall?: number;
}

export interface CorpusScore {
  messages: number;
  perRule: RuleScore[];
  /** Messages labelled [] (must deliver). */
  ordinary: number;
  /** Of those, how many were held (quarantined or blocked). */
  falseHolds: CorpusResult[];
  /** Messages labelled with at least one rule. */
  positives: number;
  /** Of those, how many were held. */
  positivesHeld: number;
  positivesMissed: CorpusResult[];
  /** Messages whose fired rules differ from the label in any way. */
  mismatches: CorpusResult[];
}

export function scoreCorpus(results: CorpusResult[]): CorpusScore {
  const perRule = RULE_IDS.map((rule): RuleScore => {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (const r of results) {
      const expected = r.label.expect.includes(rule);
      const fired = r.rules.includes(rule);
      if (expected && fired) tp++;
      else if (fired) fp++;
      else if (expected) fn++;
    }
    return {
      rule,
      labelled: tp + fn,
      truePositives: tp,
      falsePositives: fp,
      falseNegatives: fn,
      precision: tp + fp ? tp / (tp + fp) : undefined,
      recall: tp + fn ? tp / (tp + fn) : undefined,
    };
  });
  const ordinary = results.filter((r) => r.label.expect.length === 0);
  const positives = results.filter((r) => r.label.expect.length > 0);
  return {
    messages: results.length,
    perRule,
    ordinary: ordinary.length,
    falseHolds: ordinary.filter((r) => r.action !== 'deliver'),
    positives: positives.length,
    positivesHeld: positives.filter((r) => r.action !== 'deliver').length,
    positivesMissed: positives.filter((r) => r.action === 'deliver'),
    mismatches: results.filter((r) => !sameRules(r.label.expect, r.rules)),
  };
}

export function sameRules(expected: string[], actual: string[]): boolean {
  const a = [...new Set(expected)].sort();
  const b = [...new Set(actual)].sort();
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** One readable line per finding, redacted evidence only. */
export function describeFindings(r: CorpusResult): string {
  if (!r.findings.length) return '    (no findings)';
  return r.findings.map((f) => `    - ${f.rule ?? '?'} / ${f.detector} @ ${f.where}${f.evidence ? ` [${f.evidence}]` : ''}: ${f.reason}`).join('\n');
}
