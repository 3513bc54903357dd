import { vocabularyDetector } from './vocabulary.ts';

// DfE ethnicity codes (as exported by MIS systems) are matched only in capitals.
export const specialEthnicity = vocabularyDetector({
  id: 'special-ethnicity',
  description: "A pupil's ethnicity (written out or as a DfE ethnicity code) next to their name.",
  topic: 'ethnicity',
  terms: [
    'ethnicity', 'ethnic origin', 'ethnic group', 'white british', 'white irish', 'white other', 'gypsy roma',
    'traveller of irish heritage', 'mixed white and black caribbean', 'mixed white and black african',
    'mixed white and asian', 'asian british', 'black british', 'black caribbean', 'black african', 'indian', 'pakistani',
    'bangladeshi', 'chinese', 'any other ethnic group',
  ],
  acronyms: ['WBRI', 'WIRI', 'WIRT', 'WOTH', 'WROM', 'MWBC', 'MWBA', 'MWAS', 'MOTH', 'AIND', 'APKN', 'ABAN', 'AOTH', 'BCRB', 'BAFR', 'CHNE', 'OOTH', 'REFU', 'NOBT'],
  examples: {
    match: [{ text: 'Hill,Jack,M,WBRI,Y4', strength: 'strong' }, { text: 'Zoë Okafor – ethnicity: Black African', strength: 'strong' }],
    noMatch: ['We collect ethnicity data as required by the DfE census.'],
  },
});
