import { vocabularyDetector } from './vocabulary.ts';

export const specialHealth = vocabularyDetector({
  id: 'special-health',
  description: 'Health and medical conditions (asthma, epilepsy, diabetes, allergies, medication, mental health) mentioned next to a pupil.',
  topic: 'a health or medical condition',
  terms: [
    'medical condition', 'health care plan', 'healthcare plan', 'individual healthcare plan', 'asthma', 'asthmatic',
    'inhaler', 'epilepsy', 'epileptic', 'seizure', 'seizures', 'diabetes', 'diabetic', 'insulin', 'anaphylaxis',
    'anaphylactic', 'epipen', 'allergy', 'allergies', 'allergic', 'nut allergy', 'coeliac', 'medication', 'prescribed',
    'mental health', 'anxiety', 'depression', 'eating disorder', 'anorexia', 'bulimia', 'CAMHS', 'self harm', 'OCD',
    'cancer', 'leukaemia', 'chemotherapy', 'pregnant', 'pregnancy', 'hospital admission', 'diagnosed', 'diagnosis',
    'sickle cell', 'cystic fibrosis', 'heart condition', 'Tourette', 'Tourettes',
  ],
  acronyms: ['IHP', 'IHCP', 'ARFID', 'PTSD', 'CFS'],
  examples: {
    match: [
      { text: 'Jack Hill (Y5) has asthma – inhaler in the office.', strength: 'strong' },
      { text: 'Zoë Okafor: nut allergy, EpiPen kept in class.', strength: 'strong' },
    ],
    noMatch: [
      'Reminder: our school is nut-free because some pupils have allergies.',
      'Mental Health Awareness Week starts on Monday.',
    ],
  },
});
