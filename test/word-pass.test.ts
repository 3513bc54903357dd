// The word pass runs in C (src/roster/native/word-pass.c); the same loop in JavaScript is the
// reference. Both must produce identical lists on every text: school mail, names in every
// script and shape, invalid UTF-8, random bytes, and texts long enough to make the lists grow.
import { describe, it, expect } from 'vitest';
import { buildNameIndex } from '../src/roster/name-index.ts';
import { wordPass, wordPassEngine, shrinkWordLists, TOKEN_STRIDE, KEYWORD_STRIDE, DIGIT_STRIDE } from '../src/roster/word-pass.ts';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FOLD, FOLD8 } from '../src/roster/fold.ts';
import { syntheticCorpus, syntheticPupils } from '../bench/detectors/corpus.ts';
import { rng } from '../bench/detectors/names.ts';

const pupils = syntheticPupils(2000);
const extra = [
  { forenames: ['Zoë'], surnames: ['Okafor'] },
  { forenames: ['Siobhán'], surnames: ["O'Neill"] },
  { forenames: ['Mary-Jane'], surnames: ['Smith-Jones'] },
  { forenames: ['Łukasz'], surnames: ['Wiśniewski'] },
  { forenames: ['Иван'], surnames: ['Петров'] },
  { forenames: ['美咲'], surnames: ['田中'] },
  { forenames: ['Æsa'], surnames: ['Straße'] },
];
const ix = buildNameIndex({
  pupils: [...pupils.map((p) => ({ forenames: [p.legalForename, ...(p.preferredForename ? [p.preferredForename] : [])], surnames: [p.legalSurname] })), ...extra],
  staff: [{ forenames: ['Jane'], surnames: ['Teacher'] }],
  keywords: ['dob', 'upn', 'password', 'mrs', 'sen', 'ehcp', 'birth', 'b', 'tel'],
});

interface Lists {
  tokens: number[];
  keywords: number[];
  digits: number[];
  calls: number;
}

function run(buf: Uint8Array, engine: 'native' | 'javascript'): Lists {
  // Each engine starts from the lists' first size, so both grow them on a long text.
  shrinkWordLists();
  const l = wordPass(buf, ix, engine);
  return {
    calls: l.calls,
    tokens: Array.from(l.tokens.subarray(0, l.tokenCount * TOKEN_STRIDE)),
    keywords: Array.from(l.keywords.subarray(0, l.keywordCount * KEYWORD_STRIDE)),
    digits: Array.from(l.digits.subarray(0, l.digitCount * DIGIT_STRIDE)),
  };
}

function same(buf: Uint8Array): Lists {
  const js = run(buf, 'javascript');
  const c = run(buf, 'native');
  expect(c).toEqual(js); // the same lists, after the same number of stops to grow them
  return js;
}

describe('the native word pass', () => {
  it('is the one in use (npm install builds it)', () => {
    expect(wordPassEngine).toBe('native');
  });

  it('finds what the JavaScript reference finds in school mail', () => {
    let tokens = 0;
    let digits = 0;
    let keywords = 0;
    for (const doc of syntheticCorpus(600_000, pupils)) {
      const l = same(doc.text);
      tokens += l.tokens.length;
      digits += l.digits.length;
      keywords += l.keywords.length;
    }
    // The comparison means something: the corpus is full of names, keywords and numbers.
    expect(tokens / TOKEN_STRIDE).toBeGreaterThan(5_000);
    expect(digits / DIGIT_STRIDE).toBeGreaterThan(5_000);
    expect(keywords / KEYWORD_STRIDE).toBeGreaterThan(100);
  });

  it.each([
    ["Mrs Hill met Jack Hill, HILL Jack and zoë o’brien (Zoë O'Brien's) at 9.15am on 12/03/2014"],
    ['Zoe\u0308 Okafor, ŁUKASZ WIŚNIEWSKI, Иван Петров, 田中 美咲, ÆSA STRASSE, Straße'],
    ["Siobhán O'Neill, Siobhan O\u2019Neill, Siobhan ONeill, O'Neill's, O'Neill', ''x'' `y`"],
    ['Mary-Jane Smith-Jones\r\n\tSMITH\u00a0Jane — “quoted” … \u00e9 SW1A 1AA, B33 8TH, 3pm, x1 A123 £24.50'],
    ['DOB 01/09/2015 UPN A123456789012 tel 07700 900123 password: hunter2 Jane Teacher'],
    ['\ufeffa\u200bb \u0301x ʼa ‘x’ \ud83d\ude00 Zoë\u0308\u0308 ẞ ǅ'],
    ['Hafsa\u200bAhmed Zoë\u00adOkafor H\u200ba\u200bf É\u200bÉ a\u2060É a\u200b× J\u200d\u200bH x\u200b'],
  ])('agrees on %s', (text) => {
    same(Buffer.from(text, 'utf8'));
  });

  it('agrees on bytes that are not UTF-8 (Latin-1 exports, truncated characters)', () => {
    same(Buffer.from([0x5a, 0x6f, 0xeb, 0x20, 0x4f, 0x27, 0x42, 0x72, 0x69, 0x65, 0x6e, 0x20, 0xe9, 0xc3]));
    same(Buffer.from([0x4a, 0x61, 0x63, 0x6b, 0x20, 0xe2, 0x80])); // "Jack " + a cut-off ’
    same(Buffer.from([0xf4, 0x90, 0x80, 0x80, 0x41, 0xf0, 0x28, 0x8c, 0xbc, 0xc0, 0xaf, 0xed, 0xa0, 0x80]));
    same(Buffer.from([0x27]));
    same(Buffer.alloc(0));
  });

  it('agrees on 2,000 random texts of name fragments, punctuation and arbitrary bytes', () => {
    const r = rng(99);
    const parts = ['Jack', 'Hill', "O'", 'Neill', 'Zoë', '’s', "'", '-', ' ', '\n', '12', '/', 'AB', '2A', 'Mrs', 'DOB', 'é', '\u0308', '田', '😀', ',', '.', 'b', '\u200b', '\u00ad', 'É'];
    let nonEmpty = 0;
    for (let k = 0; k < 2000; k++) {
      const chunks: Buffer[] = [];
      const count = 1 + Math.floor(r() * 40);
      for (let q = 0; q < count; q++) {
        if (r() < 0.15) chunks.push(Buffer.from([Math.floor(r() * 256)]));
        else chunks.push(Buffer.from(parts[Math.floor(r() * parts.length)], 'utf8'));
      }
      const l = same(Buffer.concat(chunks));
      if (l.tokens.length) nonEmpty++;
    }
    expect(nonEmpty).toBeGreaterThan(500);
  });

  it('grows its lists on a long text and loses nothing (a 3 MB class list)', () => {
    const rows = ['Forename,Surname,DOB,UPN,DOB password'];
    for (let k = 0; k < 60_000; k++) {
      const p = pupils[k % pupils.length];
      rows.push(`${p.legalForename},${p.legalSurname},0${1 + (k % 9)}/09/2015,A${String(100000000000 + k)},dob`);
    }
    const buf = Buffer.from(rows.join('\n'), 'utf8');
    expect(buf.length).toBeGreaterThan(2_500_000);
    const l = same(buf);
    expect(l.calls).toBeGreaterThan(10); // both engines stopped and resumed as their lists grew
    expect(l.tokens.length / TOKEN_STRIDE).toBeGreaterThanOrEqual(120_000);
    expect(l.digits.length / DIGIT_STRIDE).toBe(240_000); // 01, 09, 2015 and the UPN
    expect(l.keywords.length / KEYWORD_STRIDE).toBe(60_004); // DOB, UPN, DOB, password in the header, dob on every row
  });

  it('refuses wrong arguments with an error, not a crash', () => {
    const native = createRequire(import.meta.url)('../build/Release/word_pass.node');
    expect(() => native.pass({}, Buffer.from('x'), new Int32Array(5), new Int32Array(3), new Int32Array(3), new Int32Array(7))).toThrow(TypeError);
    expect(() => native.table(new Uint16Array(10), new Uint8Array(256), new Int32Array(4), new Int32Array(4), new Uint8Array(1))).toThrow(TypeError);
    // Ids pointing outside the flags are refused when the table is made.
    expect(() => native.table(new Uint16Array(65536), new Uint8Array(256), Int32Array.of(7, 0), Int32Array.of(5, 0), new Uint8Array(2))).toThrow(TypeError);
    // A table with no empty slot would make a lookup probe for ever: refused.
    expect(() => native.table(new Uint16Array(65536), new Uint8Array(256), Int32Array.of(7, 9), Int32Array.of(0, 0), new Uint8Array(1))).toThrow(TypeError);
    const table = native.table(new Uint16Array(65536), new Uint8Array(256), new Int32Array(2), new Int32Array(2), new Uint8Array(1));
    expect(() => native.pass(table, Buffer.from('x'), new Int32Array(5), new Int32Array(3), new Int32Array(3), Int32Array.of(0, 0, 0, 0, 9, 0, 0))).toThrow(RangeError);
  });

  it('keeps its own copy of the tables: transferring their buffers afterwards changes nothing', () => {
    const native = createRequire(import.meta.url)('../build/Release/word_pass.node');
    const copy = <T extends Int32Array | Uint8Array | Uint16Array>(a: T): T => a.slice() as T;
    const arrays = [copy(FOLD), copy(FOLD8), copy(ix.wordKeys), copy(ix.wordIds), copy(ix.wordFlags)] as const;
    const table = native.table(...arrays);
    const text = Buffer.from(syntheticCorpus(20_000, pupils)[0].text);
    const run = () => {
      const tok = new Int32Array(5 * 4096);
      const st = Int32Array.of(0, 0, -1e9, -1e9, 0, 0, 0);
      expect(native.pass(table, text, tok, new Int32Array(3 * 4096), new Int32Array(3 * 4096), st)).toBe(0);
      return Array.from(tok.subarray(0, st[4] * 5));
    };
    const before = run();
    expect(before.length).toBeGreaterThan(0);
    structuredClone(arrays, { transfer: arrays.map((a) => a.buffer as ArrayBuffer) });
    expect(arrays[2].length).toBe(0); // detached
    expect(run()).toEqual(before);
  });
});

describe('the C word pass under AddressSanitizer and UndefinedBehaviorSanitizer', () => {
  it('reads nothing outside hostile texts and resumes exactly after full lists (20,000 random texts)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hm-word-pass-'));
    try {
      // The real name index's tables, as the harness reads them.
      const head = Buffer.alloc(8);
      head.writeUInt32LE(ix.wordKeys.length, 0);
      head.writeUInt32LE(ix.wordFlags.length, 4);
      const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
      const tables = path.join(dir, 'tables.bin');
      writeFileSync(tables, Buffer.concat([head, bytes(FOLD), bytes(FOLD8), bytes(ix.wordKeys), bytes(ix.wordIds), bytes(ix.wordFlags)]));
      const exe = path.join(dir, 'stress');
      const source = path.resolve(import.meta.dirname, 'native/word-pass-stress.c');
      const cc = spawnSync('gcc', ['-std=c11', '-O1', '-g', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-Wall', '-Wextra', '-Werror', source, '-o', exe], { encoding: 'utf8' });
      expect(cc.status, cc.stderr).toBe(0);
      const run = spawnSync(exe, [tables, '20000', '7'], { encoding: 'utf8', timeout: 120_000 });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      const [, texts, names, keywords, digits] = /checked (\d+) texts: (\d+) name words, (\d+) keyword words, (\d+) digit words/.exec(run.stdout)!.map(Number);
      expect(texts).toBe(20_000);
      // The texts exercise every list.
      expect(names).toBeGreaterThan(10_000);
      expect(keywords).toBeGreaterThan(1_000);
      expect(digits).toBeGreaterThan(10_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
