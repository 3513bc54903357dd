// Every detector proves itself (gitleaks style): the texts it must find are found, the texts it
// must not find are not. Run by the test suite over the shipped detectors, by `hallmonitor
// detectors test`, and by the configuration check over a school's own detectors, which are then
// refused by `serve` and `config-check` if one of their examples is wrong.
import { DETECTORS } from '../../detectors/index.ts';
import type { Detector, DetectorExample, RosterDetector } from '../../detectors/library/types.ts';
import { makeRoster } from '../roster/index.ts';
import { compileDetectors, type DetectorSet } from './index.ts';

export interface ExampleFailure {
  detector: string;
  origin: string;
  /** Plain English: which example, and what went wrong. */
  problem: string;
}

export function examplesOf(d: Detector): DetectorExample[] {
  return d.examples.match.map((m) => (typeof m === 'string' ? { text: m } : m));
}

/** The detectors compiled with the roster detector's example roster and staff list. */
export function exampleSet(detectors: readonly Detector[]): DetectorSet {
  const rd = detectors.find((d): d is RosterDetector => d.kind === 'roster') ?? (DETECTORS.find((d) => d.kind === 'roster') as RosterDetector);
  const roster = makeRoster(rd.exampleRoster.map((p, i) => ({ id: `row-${i + 2}`, line: i + 2, contacts: [], ...p })));
  return compileDetectors({ detectors, roster, staff: rd.exampleStaff ?? [] });
}

/**
 * Runs the examples of `check` (default: every detector given), compiled together with
 * `detectors` (a school's detectors are compiled with the shipped ones: a term near a UPN needs
 * the UPN detector). Returns every wrong example, in order; empty when all are right.
 */
export function exampleFailures(detectors: readonly Detector[], check: readonly Detector[] = detectors, set = exampleSet(detectors)): ExampleFailure[] {
  const failures: ExampleFailure[] = [];
  for (const d of check) {
    const origin = d.origin ?? 'shipped';
    for (const e of examplesOf(d)) {
      const found = set.scan(e.text, 'body').filter((x) => x.detector === d.id);
      const fitting = found.filter((x) => (!e.strength || x.strength === e.strength) && (!e.value || e.text.slice(x.start, x.end) === e.value));
      if (fitting.length) continue;
      const wanted = `${e.strength ? `a ${e.strength} finding` : 'a finding'}${e.value ? ` of "${e.value}"` : ''}`;
      const got = found.length ? `found ${found.map((x) => `${x.strength} "${e.text.slice(x.start, x.end)}"`).join(', ')}` : 'found nothing';
      const hint = !found.length && d.kind === 'pattern' && d.prefilter === 'digits' ? ` (the patterns are read only where ${d.minDigits ?? 6} digits stand close together: set min_digits for a shorter reference)` : '';
      failures.push({ detector: d.id, origin, problem: `must find ${wanted} in "${e.text}", but ${got}${hint}` });
    }
    for (const text of d.examples.noMatch) {
      const found = set.scan(text, 'body').filter((x) => x.detector === d.id && (d.kind === 'pattern' || x.strength === 'strong'));
      if (found.length) failures.push({ detector: d.id, origin, problem: `must find nothing in "${text}", but found "${text.slice(found[0].start, found[0].end)}"` });
    }
  }
  return failures;
}
