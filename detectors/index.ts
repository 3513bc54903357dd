// Every detector, listed explicitly: the word lists as data (*.yaml, read by
// library/document.ts, the same form a school uses for its own detectors under `detectors:` in
// its configuration), and the detectors that need code (*.ts: checksums on the bytes, fast paths
// for class lists, scores that depend on a match's shape). Startup refuses duplicate ids or a
// detector without examples (checkRegistry), and every detector's examples are run by the test
// suite and by `hallmonitor detectors test`.

import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { detectorFromDocument } from './library/document.ts';
import type { Detector, PatternDetector, RosterDetector } from './library/types.ts';
import { pupilName } from './pupil-name.ts';
import { ukUpn } from './uk-upn.ts';
import { ukUln } from './uk-uln.ts';
import { ukNhsNumber } from './uk-nhs-number.ts';
import { ukNiNumber } from './uk-ni-number.ts';
import { scottishCandidateNumber } from './scottish-candidate-number.ts';
import { dateOfBirth } from './date-of-birth.ts';
import { ukPostcode } from './uk-postcode.ts';
import { ukPhoneNumber } from './uk-phone-number.ts';
import { ukBankSortCode } from './uk-bank-sort-code.ts';
import { ukBankAccountNumber } from './uk-bank-account-number.ts';
import { passwordInText } from './password-in-text.ts';

export type { Detector, PatternDetector, RosterDetector } from './library/types.ts';

export const DETECTORS: readonly Detector[] = [
  pupilName,
  ukUpn,
  ukUln,
  ukNhsNumber,
  ukNiNumber,
  scottishCandidateNumber,
  dateOfBirth,
  ukPostcode,
  ukPhoneNumber,
  ukBankSortCode,
  ukBankAccountNumber,
  passwordInText,
  shipped('special-send.yaml'),
  shipped('special-safeguarding.yaml'),
  shipped('special-health.yaml'),
  shipped('special-exclusion.yaml'),
  shipped('special-disadvantage.yaml'),
  shipped('special-ethnicity.yaml'),
  shipped('special-religion.yaml'),
  shipped('special-identity.yaml'),
  shipped('behaviour-and-attendance.yaml'),
].map((d) => (d.origin ? d : { ...d, origin: 'shipped' }));

/** A detector document shipped beside this file; a broken one is a bug, so it throws. */
function shipped(file: string): PatternDetector {
  const problems: string[] = [];
  const d = detectorFromDocument(parse(readFileSync(new URL(`./${file}`, import.meta.url), 'utf8')), { origin: 'shipped', path: `detectors/${file}` }, problems);
  if (!d) throw new Error(`shipped detector ${file} is not valid:\n  ${problems.join('\n  ')}`);
  return d;
}

const KEBAB = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** Refuse a registry with duplicate or malformed ids, missing examples or no prefilter. */
export function checkRegistry(detectors: readonly Detector[] = DETECTORS): void {
  const seen = new Set<string>();
  for (const d of detectors) {
    if (!KEBAB.test(d.id)) throw new Error(`detector id "${d.id}" is not kebab-case`);
    if (seen.has(d.id)) throw new Error(`duplicate detector id "${d.id}"`);
    seen.add(d.id);
    if (!d.description) throw new Error(`detector ${d.id} has no description`);
    if (d.examples.match.length === 0 || d.examples.noMatch.length === 0) {
      throw new Error(`detector ${d.id} needs examples that must match and examples that must not`);
    }
    if (d.kind === 'pattern') {
      if (d.patterns.length === 0) throw new Error(`detector ${d.id} has no pattern`);
      if (d.requiresContext && !d.context?.words.length) throw new Error(`detector ${d.id} requires context but has no context words`);
      if (!d.keywords?.length && d.prefilter !== 'digits') {
        throw new Error(`detector ${d.id} needs keywords or the digits prefilter`);
      }
    }
  }
  if (detectors.filter((d) => d.kind === 'roster').length > 1) throw new Error('only one roster detector is supported');
}

export function patternDetectors(detectors: readonly Detector[] = DETECTORS): PatternDetector[] {
  return detectors.filter((d): d is PatternDetector => d.kind === 'pattern');
}

export function rosterDetector(detectors: readonly Detector[] = DETECTORS): RosterDetector | undefined {
  return detectors.find((d): d is RosterDetector => d.kind === 'roster');
}
