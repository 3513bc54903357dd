import { vocabularyDetector } from './vocabulary.ts';

export const specialSend = vocabularyDetector({
  id: 'special-send',
  description: 'Special educational needs and disabilities (SEN/SEND, EHCP, SEN support, diagnoses such as autism or ADHD) mentioned next to a pupil.',
  topic: 'special educational needs or disability',
  terms: [
    'special educational needs', 'special needs', 'SEN support', 'education health and care plan', 'EHC plan',
    'statement of special educational needs', 'individual education plan', 'one page profile', 'learning difficulty',
    'learning difficulties', 'learning disability', 'autism', 'autistic', 'asperger', 'aspergers', 'dyslexia', 'dyslexic',
    'dyspraxia', 'dyscalculia', 'global developmental delay', 'speech and language therapy', 'hearing impairment',
    'visual impairment', 'cerebral palsy', 'down syndrome', 'down\'s syndrome', 'educational psychologist',
    'access arrangements', 'SENCo', 'SENDCo',
  ],
  acronyms: ['SEN', 'SEND', 'EHCP', 'EHCNA', 'IEP', 'ASD', 'ASC', 'ADHD', 'SLCN', 'SEMH', 'MLD', 'SLD', 'PMLD', 'SpLD'],
  examples: {
    match: [
      { text: 'Zoë Okafor has an EHCP and sees the SENCo weekly.', strength: 'strong' },
      { text: 'UPN P820200112001 – SEN support (dyslexia)', strength: 'strong' },
      { text: 'Jack Hill, DOB 12/03/2014, ASD diagnosis', strength: 'strong' },
    ],
    noMatch: [
      'Our SEN information report and SEND policy are on the website.',
      'Please send the forms back by Friday, Jack Hill.', // "send" is not SEND
      'The SENCo will run a coffee morning for all parents.',
    ],
  },
});
