import { vocabularyDetector } from './vocabulary.ts';

export const specialIdentity = vocabularyDetector({
  id: 'special-identity',
  description: "A pupil's sexual orientation or gender identity next to their name.",
  topic: 'sexual orientation or gender identity',
  terms: ['transgender', 'gender identity', 'gender questioning', 'transitioning', 'sexual orientation', 'gay', 'lesbian', 'bisexual', 'non binary', 'non-binary'],
  acronyms: ['LGBT', 'LGBTQ'],
  examples: {
    match: [{ text: 'Zoë Okafor is transitioning and has asked to use a new name.', strength: 'strong' }],
    noMatch: ['Our LGBT History Month assembly is on Friday.'],
  },
});
