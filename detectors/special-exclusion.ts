import { vocabularyDetector } from './vocabulary.ts';

export const specialExclusion = vocabularyDetector({
  id: 'special-exclusion',
  description: 'Exclusions, suspensions and serious behaviour records (including police involvement) mentioned next to a pupil.',
  topic: 'an exclusion, suspension or behaviour record',
  terms: [
    'exclusion', 'excluded', 'permanent exclusion', 'permanently excluded', 'fixed term exclusion', 'suspension',
    'suspended', 'internal exclusion', 'isolation', 'managed move', 'alternative provision', 'pupil referral unit',
    'police', 'arrested', 'caution', 'youth offending', 'youth justice', 'criminal record', 'behaviour support plan',
    'pastoral support plan',
  ],
  acronyms: ['FTE', 'PEX', 'PRU', 'YOT', 'YOS', 'PSP'],
  examples: {
    match: [{ text: 'Jack Hill was excluded for two days after the incident.', strength: 'strong' }],
    noMatch: ['Our behaviour policy explains when exclusion is used.'],
  },
});
