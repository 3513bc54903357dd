import { vocabularyDetector } from './vocabulary.ts';

export const specialSafeguarding = vocabularyDetector({
  id: 'special-safeguarding',
  description: 'Safeguarding and social care (child protection plan, child in need, looked-after child, CPOMS/MyConcern records, social worker, abuse) mentioned next to a pupil.',
  topic: 'safeguarding or social care',
  terms: [
    'child protection', 'child protection plan', 'child in need', 'children in need plan', 'looked after child',
    'looked after children', 'children looked after', 'previously looked after', 'in care', 'foster care', 'foster carer',
    'care order', 'special guardianship', 'social worker', 'social services', 'social care', 'section 17', 'section 47',
    'strategy meeting', 'core group', 'early help', 'safeguarding concern', 'safeguarding referral', 'disclosure',
    'disclosed', 'domestic abuse', 'domestic violence', 'neglect', 'sexual abuse', 'physical abuse', 'emotional abuse',
    'self harm', 'self-harm', 'FGM', 'county lines', 'criminal exploitation', 'sexual exploitation', 'Prevent referral',
    'Channel panel', 'MyConcern', 'CPOMS', 'young carer',
  ],
  acronyms: ['CP', 'CIN', 'CLA', 'LAC', 'PLAC', 'CSE', 'CCE', 'MASH', 'LADO', 'DSL', 'PEP'],
  examples: {
    match: [
      { text: 'Jack Hill is on a child protection plan (CPOMS entry 14/10).', strength: 'strong' },
      { text: 'UPN B938201912345 is CLA; PEP due next week.', strength: 'strong' },
      { text: 'Zoë Okafor disclosed at break; logged on MyConcern.', strength: 'strong' },
    ],
    noMatch: [
      'Safeguarding is everyone\'s responsibility: our child protection policy is on the website.',
      'Children in Need day: wear something spotty!',
    ],
  },
});
