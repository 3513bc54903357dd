import { vocabularyDetector } from './vocabulary.ts';

export const specialReligion = vocabularyDetector({
  id: 'special-religion',
  description: "A pupil's religion or belief next to their name.",
  topic: 'religion or belief',
  terms: [
    'religion', 'religious belief', 'faith', 'muslim', 'islam', 'christian', 'catholic', 'roman catholic', 'church of england',
    'anglican', 'jewish', 'judaism', 'hindu', 'sikh', 'buddhist', 'jehovah\'s witness', 'jehovahs witness', 'atheist',
    'agnostic', 'no religion',
  ],
  examples: {
    match: [{ text: 'Jack Hill (religion: Jehovah\'s Witness) is withdrawn from RE.', strength: 'strong' }],
    noMatch: ['Our RE curriculum covers Christian, Muslim, Jewish, Hindu and Sikh festivals.'],
  },
});
