// Issue 19: the bodies of parts pass mailparser's splitter a stretch at a time (src/inspect/long-bodies.ts).
// The splitter's output must be what it was line by line: the same parts with the same headers, the
// same body bytes in each, the same lines between parts, whatever the message and however it is cut
// into writes. Checked on random multipart messages made to sit on every edge (lines starting with
// "-", near-boundaries, lone CRs, bare LFs, parts never closed, nested multiparts) and on every
// message of Debian's mail corpora.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Transform } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { firstDelimiterLine, MAX_DELIMITERS, passLongBodies } from '../src/inspect/long-bodies.ts';
import { everyMailFile } from './corpus/debian.ts';

const { Splitter } = createRequire(import.meta.url)('@zone-eu/mailsplit') as { Splitter: new (config?: object) => Transform };

interface SplitterNode {
  getHeaders(): Buffer;
}
interface Chunk {
  type: 'node' | 'body' | 'data';
  node: SplitterNode;
  value?: Buffer;
}

/** The splitter's output, events of one kind for one part joined: what its readers can tell apart. */
async function split(raw: Buffer, pieces: number[], stretches: boolean, lines = { inPartBodies: 0 }): Promise<string[]> {
  type Counted = Transform & { processLine: (...args: unknown[]) => void; state: number; node?: { multipart?: unknown; parentNode?: unknown } };
  const s = new Splitter({ ignoreEmbedded: true }) as Counted;
  if (stretches) passLongBodies(s);
  // Lines the splitter reads one by one in the body of a part under a multipart (its state 2).
  const processLine = s.processLine;
  s.processLine = function (this: Counted, ...args: unknown[]) {
    if (this.state === 2 && this.node && !this.node.multipart && this.node.parentNode) lines.inPartBodies++;
    return processLine.apply(this, args);
  };
  const ids = new Map<SplitterNode, number>();
  const out: Array<{ key: string; bytes: Buffer[] }> = [];
  s.on('data', (c: Chunk) => {
    // A part is pushed as itself; its body and the lines between parts name it.
    const node = c.type === 'node' ? (c as unknown as SplitterNode) : c.node;
    if (!ids.has(node)) ids.set(node, ids.size);
    // Lines between parts are told apart by their place only: the splitter names them after the
    // part its group began with, and readers (mailparser, the structure watcher) never look.
    const key = c.type === 'data' ? 'lines between parts' : `${c.type} of part ${ids.get(node)}`;
    const value = c.type === 'node' ? node.getHeaders() : (c.value ?? Buffer.alloc(0));
    const last = out.at(-1);
    if (c.type !== 'node' && last?.key === key) last.bytes.push(value);
    else out.push({ key, bytes: [value] });
  });
  const ended = new Promise<string | undefined>((resolve) => {
    s.once('end', () => resolve(undefined));
    s.once('error', (e: Error) => resolve(e.message));
  });
  let pos = 0;
  for (let k = 0; pos < raw.length; k++) {
    const n = Math.max(1, pieces[k % pieces.length]);
    s.write(raw.subarray(pos, pos + n));
    pos += n;
  }
  s.end();
  const failed = await ended;
  return [...out.filter((e) => Buffer.concat(e.bytes).length || e.key.startsWith('node')).map((e) => `${e.key}: ${JSON.stringify(Buffer.concat(e.bytes).toString('latin1'))}`), `ended: ${failed ?? 'ok'}`];
}

/** The same events; where they differ, the first difference is shown (a whole message is long). */
function expectSame(got: string[], want: string[], what: string): void {
  const at = got.findIndex((e, k) => e !== want[k]);
  if (at >= 0 || got.length !== want.length) expect({ event: at, got: got[at]?.slice(0, 600), want: want[at]?.slice(0, 600) }, what).toEqual({ event: at, got: want[at]?.slice(0, 600), want: want[at]?.slice(0, 600) });
}

/** A random generator (an LCG: the same messages every run). */
function randomness(seed: number) {
  const next = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
  return { next, pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)], int: (n: number) => Math.floor(next() * n) };
}

/** A random message whose lines sit on the splitter's edges. */
function randomMessage(r: ReturnType<typeof randomness>): Buffer {
  const eol = () => r.pick(['\r\n', '\r\n', '\n', '\r\n']);
  const line = (boundaries: string[]) => {
    const b = boundaries.length ? r.pick(boundaries) : 'x';
    // Mostly ordinary lines (so that bodies have long stretches), some on an edge, a few starting
    // with a delimiter (most of which end the part).
    const x = r.next();
    if (x < 0.9) return r.pick(['Jasmine Okafor, Year 5, asthma', 'QmFzZTY0IGxpbmUgb2YgYW4gYXR0YWNobWVudA==', '', 'x'.repeat(r.int(200))]);
    if (x < 0.997) return r.pick(['- a bullet', '-- ', '--', `-${b}`, '', '\r', 'a lone CR\rinside', '=2D=2D soft', '\r-', '\r\r--']);
    return r.pick([`--${b}`, `--${b}--`, `--${b}x`, `--${b} \t`, `--${b}-- `, `\r--${b}`]);
  };
  // Some bodies long (an attachment, a letter), most short.
  const body = (boundaries: string[]) => Array.from({ length: r.next() < 0.3 ? r.int(1500) : r.int(60) }, () => line(boundaries) + eol()).join('');
  const part = (depth: number, boundaries: string[]): string => {
    // The message itself is multipart (a single part is read without the splitter's part bodies), some parts too.
    if (depth === 0 || (depth < 3 && r.next() < 0.35)) {
      const b = r.pick(['b', 'bb', 'b1', '==_Part_1', 'b-x']) + depth;
      const inner = [...boundaries, b];
      const kids = Array.from({ length: 1 + r.int(3) }, () => `--${b}${eol()}${part(depth + 1, inner)}${eol()}`).join('');
      const close = r.next() < 0.85 ? `--${b}--${eol()}` : '';
      const between = () => (r.next() < 0.15 ? body(inner) : '');
      return `Content-Type: multipart/${r.pick(['mixed', 'alternative'])}; boundary="${b}"${eol()}${eol()}${between()}${kids}${close}${between()}`;
    }
    const type = r.pick(['text/plain; charset=utf-8', 'text/html', 'application/octet-stream; name="a.bin"']);
    const encoding = r.pick(['', `Content-Transfer-Encoding: base64${eol()}`, `Content-Transfer-Encoding: quoted-printable${eol()}`]);
    const end = r.next() < 0.2 ? '' : eol();
    return `Content-Type: ${type}${eol()}${encoding}${eol()}${body(boundaries)}${r.next() < 0.5 ? 'last line' : ''}${end}`;
  };
  return Buffer.from(`From: office@school.example.org${eol()}Subject: Test${eol()}MIME-Version: 1.0${eol()}${part(0, [])}`, 'latin1');
}

describe('the bodies of parts passed through the splitter a stretch at a time', () => {
  it('finds the first line that starts with a delimiter (or a CR and one), not a line of dashes or a longer boundary’s cousin', () => {
    const at = (s: string, from = 0) => firstDelimiterLine(Buffer.from(s, 'latin1'), from, [Buffer.from('--b1'), Buffer.from('--outer')]);
    expect(at('one\r\n- two\r\n-- \r\n--b2\r\n--b1\r\n')).toBe(23);
    expect(at('one\r\n\r--outer--\r\n')).toBe(5);
    expect(at('--b1\r\n')).toBe(0);
    expect(at('\r--b1\r\n')).toBe(0);
    expect(at('one\n--b')).toBe(-1); // cut off by the write's end: never handed on as body
    expect(at('one\n--b1\ntwo\n--b1\n', 9)).toBe(13);
    expect(at('no delimiter at all\n')).toBe(-1);
  });

  it('gives the splitter’s own output for 1,500 random messages cut into random writes', async () => {
    const r = randomness(19);
    let parts = 0;
    const lines = { before: { inPartBodies: 0 }, after: { inPartBodies: 0 } };
    for (let round = 0; round < 1500; round++) {
      const raw = randomMessage(r);
      // Half in writes of a few bytes to a few lines, half of a few KB (so that many start inside a part's body).
      const sizes = round % 2 ? [1, 3, 7, 40, 100] : [300, 1000, 4096, 8192];
      const pieces = Array.from({ length: 5 }, () => r.pick(sizes) + r.int(50));
      const [before, after] = round % 2 ? [{ inPartBodies: 0 }, { inPartBodies: 0 }] : [lines.before, lines.after];
      const lineByLine = await split(raw, pieces, false, before);
      expectSame(await split(raw, pieces, true, after), lineByLine, `message ${round} in writes of ${pieces.join(', ')}`);
      parts += lineByLine.filter((e) => e.startsWith('node')).length;
    }
    expect(parts).toBeGreaterThan(4000);
    // In writes of a few KB the stretches were taken often: most lines of part bodies were never looked at one by one.
    expect(lines.before.inPartBodies).toBeGreaterThan(100_000);
    expect(lines.after.inPartBodies).toBeLessThan(lines.before.inPartBodies * 0.6);
  });

  it('gives the splitter’s own output for a delimiter line at every place a write can put it, after a CR too', async () => {
    const plain = Array.from({ length: 12 }, (_, k) => `line ${k} of Jasmine's report`).join('\r\n');
    let compared = 0;
    for (const delimiter of ['--b0', '\r--b0', '--b0--', '\r--b0--', '--b0 \t', '-- b0']) {
      for (const eol of ['\r\n', '\n']) {
        const raw = Buffer.from(
          `MIME-Version: 1.0${eol}Content-Type: multipart/mixed; boundary="b0"${eol}${eol}--b0${eol}Content-Type: text/plain${eol}${eol}` +
            `${plain}${eol}${delimiter}${eol}Content-Type: text/plain${eol}${eol}${plain}${eol}${eol}${plain}${eol}--b0--${eol}`,
          'latin1',
        );
        for (let size = 20; size <= 320; size++) {
          const lines = { inPartBodies: 0 };
          expectSame(await split(raw, [size], true, lines), await split(raw, [size], false), `${JSON.stringify(delimiter)} in writes of ${size}`);
          compared++;
        }
      }
    }
    expect(compared).toBe(6 * 2 * 301);
  });

  it('reads a part nested deeper than a few multiparts line by line, as before: its output the splitter’s, its cost not multiplied by the depth', async () => {
    const nested = (depth: number) => {
      let head = 'Subject: deep\r\nMIME-Version: 1.0\r\n';
      for (let i = 0; i < depth; i++) head += `Content-Type: multipart/mixed; boundary="level-${i}"\r\n\r\n--level-${i}\r\n`;
      return Buffer.from(head + 'Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n' + 'QmFzZTY0IGxpbmUgb2YgYW4gYXR0YWNobWVudA==\r\n'.repeat(20_000));
    };
    for (const [depth, stretches] of [[MAX_DELIMITERS, true], [MAX_DELIMITERS + 1, false]] as const) {
      const raw = nested(depth);
      const fast = { inPartBodies: 0 };
      const slow = { inPartBodies: 0 };
      expectSame(await split(raw, [65536], true, fast), await split(raw, [65536], false, slow), `depth ${depth}`);
      if (stretches) expect(fast.inPartBodies, `depth ${depth}`).toBeLessThan(slow.inPartBodies / 10);
      else expect(fast.inPartBodies, `depth ${depth}`).toBe(slow.inPartBodies);
    }
  });

  it("gives the splitter's own output for every message of Debian's mail corpora, in 64 KB writes and in 1,000-byte writes", async () => {
    const { files, missing } = everyMailFile();
    expect(missing, 'missing corpora (npm test installs them: test/prepare.sh)').toEqual([]);
    for (const file of files) {
      const raw = readFileSync(file);
      for (const pieces of [[65536], [1000, 333]]) expectSame(await split(raw, pieces, true), await split(raw, pieces, false), file);
    }
    expect(files.length).toBeGreaterThan(200);
  });

  it('reads a 20 MB base64 attachment with about a thousand lines looked at one by one, not 270,000, and the same bytes', async () => {
    const b64 = Buffer.alloc(15_000_000, 7).toString('base64').replace(/.{76}/g, '$&\r\n');
    const raw = Buffer.from(`MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}\r\n--b--\r\n`);
    const read = async (stretches: boolean) => {
      const s = new Splitter({ ignoreEmbedded: true }) as Transform & { processLine: (...args: unknown[]) => void };
      if (stretches) passLongBodies(s);
      let lines = 0;
      const processLine = s.processLine;
      s.processLine = function (...args: unknown[]) {
        lines++;
        return processLine.apply(this, args);
      };
      let bytes = 0;
      s.on('data', (c: Chunk) => {
        if (c.type === 'body') bytes += c.value?.length ?? 0;
      });
      const ended = new Promise((resolve) => s.once('end', resolve));
      for (let pos = 0; pos < raw.length; pos += 65536) s.write(raw.subarray(pos, pos + 65536));
      s.end();
      await ended;
      return { lines, bytes };
    };
    const [fast, slow] = [await read(true), await read(false)];
    expect(fast.bytes).toBe(slow.bytes);
    expect(slow.lines).toBeGreaterThan(260_000);
    // The first write (the part's headers are in it) line by line, then one line a write: the line it cut in two.
    expect(fast.lines).toBeLessThan(2_000);
  });
});
