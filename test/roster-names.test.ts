// The name-variant matrix: the forms people really write a pupil's name in.
import { describe, it, expect } from 'vitest';
import { compileDetectors } from '../src/detect/index.ts';
import { makeRoster } from '../src/roster/index.ts';
import type { Pupil } from '../src/roster/types.ts';

const pupils: Array<Partial<Pupil>> = [
  { legalForename: 'Zoë', legalSurname: 'Okafor' },
  { legalForename: 'Jack', legalSurname: 'Hill' },
  { legalForename: 'Siobhán', legalSurname: "O'Neill", preferredForename: 'Shiv' },
  { legalForename: 'Mary-Jane', legalSurname: 'Smith-Jones' },
  { legalForename: 'Łukasz', legalSurname: 'Wiśniewski' },
  { legalForename: 'Jean', legalSurname: "D'Souza" },
  { legalForename: 'Aarav', legalSurname: 'Patel', preferredSurname: 'Shah' },
  { legalForename: 'Emily', legalSurname: 'Van der Berg', middleNames: 'Rose' },
  { legalForename: 'Grace', legalSurname: 'Hope' },
  { legalForename: 'Will', legalSurname: 'Young' },
  { legalForename: 'Summer', legalSurname: 'Rose' },
  { legalForename: 'May', legalSurname: 'Day' },
  { legalForename: 'Ivy', legalSurname: 'Tanaka' },
];
const roster = makeRoster(pupils.map((p, i) => ({ id: `row-${i + 2}`, line: i + 2, contacts: [], ...p })));
const set = compileDetectors({ roster });

function strong(text: string) {
  return set.scan(text, 'body').filter((d) => d.detector === 'pupil-name' && d.strength === 'strong');
}

describe('full names are found', () => {
  it.each([
    ['Zoë Okafor', 'row-2'],
    ['Zoe Okafor', 'row-2'], // diacritics folded
    ['ZOE OKAFOR', 'row-2'],
    ['zoë okafor', 'row-2'],
    ['Zoe\u0308 Okafor', 'row-2'], // decomposed (NFD) ë
    ['Okafor Zoë', 'row-2'], // surname first
    ['OKAFOR, Zoë', 'row-2'],
    ['Okafor,\r\nZoe', 'row-2'], // a line break between
    ['Okafor;\tZoe', 'row-2'],
    ['"Okafor","Zoë"', 'row-2'], // CSV cells
    ['Zoë\n\nOkafor', 'row-2'],
    ["Siobhán O'Neill", 'row-4'],
    ['Siobhan O’Neill', 'row-4'], // curly apostrophe
    ['Siobhan ONeill', 'row-4'],
    ['Shiv O’Neill', 'row-4'], // preferred forename
    ["O'NEILL, SIOBHAN", 'row-4'],
    ['Mary-Jane Smith-Jones', 'row-5'],
    ['Mary Jane Smith Jones', 'row-5'], // hyphens as spaces
    ['SMITH-JONES Mary-Jane', 'row-5'],
    ['Lukasz Wisniewski', 'row-6'],
    ['ŁUKASZ WIŚNIEWSKI', 'row-6'],
    ["Jean D'Souza", 'row-7'],
    ['Jean D’souza', 'row-7'],
    ['Aarav Shah', 'row-8'], // preferred surname
    ['Patel, Aarav', 'row-8'],
    ['Emily Van der Berg', 'row-9'],
    ['Emily Rose Van der Berg', 'row-9'], // with the middle name
    ['VAN DER BERG, Emily', 'row-9'],
    ["Jack Hill's report", 'row-3'], // possessive
    ['Jack Hill’s report', 'row-3'],
    ['(Jack Hill)', 'row-3'],
    ['Ivy Tanaka', 'row-14'],
    // Invisible characters inside the words (pasted text; HTML's &shy;): the reader sees the name.
    ['Z\u200bo\u200bë O\u200bk\u200ba\u200bf\u200bo\u200br', 'row-2'],
    ['Zo\u00adë Oka\u00adfor', 'row-2'], // soft hyphens
    ['Jack\u200d Hi\u2060ll', 'row-3'],
    ['\ufeffMary\u200c-Jane Smith-Jones', 'row-5'],
    ['Zoë\u200bOkafor', 'row-2'], // between the words, run together: still two
    ['Jack\u00adHill', 'row-3'],
  ])('%j → %s', (text, id) => {
    const found = strong(text);
    expect(found, JSON.stringify(set.scan(text, 'body'))).toHaveLength(1);
    expect(found[0].pupilIds).toEqual([id]);
  });
});

describe('word boundaries and adjacency', () => {
  it.each([
    'Jack Hillary',
    'Jack Hills',
    'Jacky Hill',
    'Hilljack',
    'Zoë and Okafor',
    'Zoë, 7B, Okafor', // another word in between
    'Okafors Zoë',
    'Zoë ' + ' '.repeat(40) + 'Okafor', // too far apart
  ])('%j is not a pupil', (text) => {
    expect(strong(text)).toEqual([]);
  });
});

describe('names that are ordinary words', () => {
  it.each([
    'By the grace of God, we hope.',
    'We hope grace is shown.',
    'I will be young again.',
    'The summer rose garden',
    'May day celebrations',
    'Grace',
    'Will',
    'Summer fair',
    'Ivy grows on the wall',
  ])('%j is never a strong match', (text) => {
    expect(strong(text)).toEqual([]);
  });
  it('a full name made of ordinary words is strong when written as a name', () => {
    expect(strong('Grace Hope')).toHaveLength(1);
    expect(strong('Will Young won')).toHaveLength(1);
    expect(strong('May Day')).toHaveLength(1);
  });
  it('… and weak in lower case', () => {
    const found = set.scan('we hope grace hope and will young come', 'body').filter((d) => d.detector === 'pupil-name');
    expect(found.length).toBeGreaterThanOrEqual(2);
    expect(found.every((d) => d.strength === 'weak')).toBe(true);
  });
  it('a forename alone is only a weak signal, and ordinary words alone only mid-sentence', () => {
    const zoe = set.scan('Thanks to Zoë for helping.', 'body');
    expect(zoe).toHaveLength(1);
    expect(zoe[0]).toMatchObject({ strength: 'weak', nameForm: 'forename' });
    expect(set.scan('Grace said thanks.', 'body')).toEqual([]); // sentence start: ordinary word
    expect(set.scan('We asked Grace about it.', 'body')[0]).toMatchObject({ strength: 'weak', score: 0.1 });
  });
  it.each([
    ['Mr Tanaka ivy league application', 'surname + the ordinary word "ivy"'],
    ['Please ask Mrs Day may we borrow it', 'surname + the verb "may"'],
    ['Ms Young will cover 6M on Friday', 'surname + the verb "will"'],
  ])('%j (%s) is not the pupil whose forename is that word', (text) => {
    expect(strong(text)).toEqual([]);
  });
  it('… while the same names written as names are found', () => {
    expect(strong('Notes for Ivy Tanaka')).toHaveLength(1);
    expect(strong('TANAKA, Ivy')).toHaveLength(1);
    expect(strong('Young Will')).toHaveLength(1);
  });
  it('a surname after a title is an adult, not a pupil hint', () => {
    expect(set.scan('Please call Mrs Okafor.', 'body')).toEqual([]);
    expect(set.scan('Please call Okafor.', 'body')[0]).toMatchObject({ strength: 'weak', nameForm: 'surname' });
  });
});

describe('the name index', () => {
  // Letters only: "Bab", "Bac", … (a word with a digit in it is never a name).
  const word = (n: number) => {
    let s = '';
    do {
      s = String.fromCharCode(97 + (n % 26)) + s;
      n = Math.floor(n / 26);
    } while (n > 0);
    return 'Q' + s;
  };
  it('indexes a 50,000-pupil trust and still finds one pupil among them', () => {
    const many = makeRoster(
      Array.from({ length: 50_000 }, (_, i) => ({ id: `row-${i + 2}`, line: i + 2, contacts: [], legalForename: word(i % 977), legalSurname: word(100_000 + i) })),
    );
    const big = compileDetectors({ roster: many });
    expect(big.stats.nameVariants).toBe(100_000);
    const text = `Report for ${word(5005 % 977)} ${word(105_005)}`;
    expect(big.scan(text, 'body').filter((d) => d.strength === 'strong').map((d) => d.pupilIds)).toEqual([['row-5007']]);
  });
});
