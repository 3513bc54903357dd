import { vocabularyDetector } from './vocabulary.ts';

export const specialDisadvantage = vocabularyDetector({
  id: 'special-disadvantage',
  description: 'Free school meals, pupil premium and other disadvantage flags mentioned next to a pupil.',
  topic: 'free school meals, pupil premium or disadvantage',
  terms: [
    'free school meals', 'pupil premium', 'disadvantaged', 'service premium', 'early years pupil premium',
    'universal infant free school meals', 'bursary', 'hardship fund',
  ],
  acronyms: ['FSM', 'FSM6', 'PP', 'EYPP', 'UIFSM', 'EAL'],
  examples: {
    match: [
      { text: 'Hill, Jack, 4B, FSM, PP', strength: 'strong' },
      { text: 'Zoë Okafor now qualifies for free school meals.', strength: 'strong' },
    ],
    noMatch: ['Apply for free school meals online: every eligible family should.'],
  },
});
