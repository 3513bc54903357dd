import type { RosterDetector } from './library/types.ts';

// The pupil roster matcher (src/roster/name-matcher.ts). Its examples run against this small
// synthetic roster; every other detector's examples may use these names too.
export const pupilName: RosterDetector = {
  kind: 'roster',
  id: 'pupil-name',
  description:
    "A pupil's full name from the school's roster (legal or preferred forename with surname, in either order), however it is capitalised, punctuated or accented.",
  category: 'name',
  exampleRoster: [
    { legalForename: 'Zoë', legalSurname: 'Okafor' },
    { legalForename: 'Jack', legalSurname: 'Hill' },
    { legalForename: 'William', legalSurname: 'Young', preferredForename: 'Will' },
    { legalForename: 'Siobhán', legalSurname: "O'Neill" },
    { legalForename: 'Mary-Jane', legalSurname: 'Smith-Jones' },
    { legalForename: 'Grace', legalSurname: 'Hope' },
    { legalForename: 'Łukasz', legalSurname: 'Wiśniewski' },
  ],
  exampleStaff: [{ forename: 'Helen', surname: 'Brennan' }],
  examples: {
    match: [
      { text: 'Report for Zoe Okafor', strength: 'strong' },
      { text: 'OKAFOR, Zoë', strength: 'strong' },
      { text: 'Okafor Zoe (7B)', strength: 'strong' },
      { text: 'Jack Hill’s report', strength: 'strong' },
      { text: 'JACK HILL', strength: 'strong' },
      { text: 'jack hill', strength: 'weak' }, // lower case and only ordinary words: not trusted alone
      { text: 'zoe okafor', strength: 'strong' },
      { text: 'Will Young and William Young', strength: 'strong' },
      { text: 'Siobhan O’Neill', strength: 'strong' },
      { text: 'siobhán oneill', strength: 'strong' },
      { text: 'Mary Jane Smith Jones', strength: 'strong' },
      { text: 'SMITH-JONES,\r\n MARY-JANE', strength: 'strong' },
      { text: 'Grace Hope', strength: 'strong' },
      { text: 'Lukasz Wisniewski', strength: 'strong' },
      { text: 'we hope grace hope will come', strength: 'weak' },
      { text: 'Well done to Zoë this week', strength: 'weak' },
    ],
    noMatch: [
      'Jack Hillary', // word boundaries
      'Jack Hills',
      'By the grace of God, we hope.',
      'We will be young once.',
      'Helen Brennan (Year 6 teacher)', // staff, not a pupil
      'Zoë and Okafor', // not adjacent
    ],
  },
};
