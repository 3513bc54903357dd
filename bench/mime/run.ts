// The MIME layer alone (issue 19, "large bodies at scan speed"): mailparser, as inspection uses it
// (streaming, attachments collected as they arrive), against postal-mime, on plain, quoted-printable
// and base64 text bodies and on multipart mail with a base64 attachment, from 1 KB to 50 MB; and
// whether the two agree on every message of Debian's mail corpora (text bodies and attachment
// bytes). Parsing only: no detector, no attachment analysis. Not a test.
//
//   node bench/mime/run.ts            full run (writes bench/mime/RESULTS.md on a quiet machine)
//   node bench/mime/run.ts --quick    1 KB to 5 MB only
//   node bench/mime/run.ts --force    write RESULTS.md even on a busy machine
//
// Each case runs in a fresh child process, so its peak memory (VmHWM, less the process's own
// before parsing) belongs to that parser and that message alone.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { MailParser } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import PostalMime from 'postal-mime';
import { DEBIAN_MAIL_CORPORA, listFiles } from '../../test/corpus/debian.ts';
import { recordLoad } from '../load.ts';

type Parser = 'mailparser' | 'postal-mime';
type Kind = 'plain 8bit' | 'quoted-printable' | 'base64 text' | 'multipart + base64 attachment';
const KINDS: Kind[] = ['plain 8bit', 'quoted-printable', 'base64 text', 'multipart + base64 attachment'];
const QUICK = process.argv.includes('--quick');
const SIZES = QUICK ? [1024, 100 * 1024, 5 * 1024 * 1024] : [1024, 100 * 1024, 5 * 1024 * 1024, 50 * 1024 * 1024];

interface Parsed {
  text: string;
  attachments: Buffer[];
}

/** mailparser as src/inspect/message.ts drives it: streamed, each attachment collected then released. */
function withMailparser(raw: Buffer): Promise<Parsed> {
  return new Promise((resolve, reject) => {
    const parser = new MailParser({ skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true, checksumAlgo: false, ignoreEmbedded: true } as ConstructorParameters<typeof MailParser>[0]);
    const out: Parsed = { text: '', attachments: [] };
    parser.on('data', (d: { type: string; text?: string; content?: NodeJS.ReadableStream; release?: () => void }) => {
      if (d.type === 'text') out.text = d.text ?? '';
      else if (d.content) {
        const chunks: Buffer[] = [];
        d.content.on('data', (c: Buffer) => chunks.push(c));
        d.content.on('end', () => {
          out.attachments.push(Buffer.concat(chunks));
          d.release?.();
        });
      }
    });
    parser.on('end', () => resolve(out));
    parser.on('error', reject);
    parser.end(raw);
  });
}

async function withPostalMime(raw: Buffer): Promise<Parsed> {
  const email = await PostalMime.parse(raw, { attachmentEncoding: 'arraybuffer' });
  return { text: email.text ?? '', attachments: email.attachments.map((a) => Buffer.from(a.content as ArrayBuffer)) };
}

const parse = (p: Parser, raw: Buffer) => (p === 'mailparser' ? withMailparser(raw) : withPostalMime(raw));

const LINES = [
  'Dear parents and carers, the spring term starts on Tuesday 5 January.',
  'Our summer fair will be on the field from 2pm on Saturday 19 June, with the choir at 3pm.',
  'Café, crèche and naïve: letters outside ASCII appear in school mail too — and “quotes”.',
  'Please label every item of uniform, and send a named water bottle in with your child each day.',
];

function text(bytes: number): string {
  let s = '';
  for (let i = 0; s.length < bytes; i++) s += `${LINES[i % LINES.length]}\n`;
  return s.slice(0, bytes);
}

async function message(kind: Kind, bytes: number): Promise<Buffer> {
  const base = { from: 'office@school.example.org', to: 'parent@home.example', subject: 'MIME benchmark', messageId: '<mime@school.example.org>', date: new Date('2026-12-07T09:00:00Z') };
  const options =
    kind === 'multipart + base64 attachment'
      ? { ...base, text: text(600), attachments: [{ filename: 'data.bin', content: Buffer.from(text(bytes)), contentType: 'application/octet-stream' }] }
      : { ...base, text: text(bytes), textEncoding: kind === 'quoted-printable' ? 'quoted-printable' : kind === 'base64 text' ? 'base64' : undefined };
  const composer = new MailComposer(options as ConstructorParameters<typeof MailComposer>[0]);
  const built = await composer.compile().build();
  if (kind !== 'plain 8bit') return built;
  // nodemailer picks QP for non-ASCII text; the 8-bit case is rewritten as 8bit, as Exchange and Postfix relay it.
  const split = built.indexOf('\r\n\r\n');
  const head = built.subarray(0, split).toString('latin1').replace(/Content-Transfer-Encoding: .*/i, 'Content-Transfer-Encoding: 8bit');
  return Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), Buffer.from(text(bytes).replace(/\n/g, '\r\n'))]);
}

function peakKb(): number {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
  return Number(line?.split(/\s+/)[1] ?? 0);
}

/** Child: one parser, one message; prints {ms[], peakMb}. */
async function child(parser: Parser, kind: Kind, bytes: number): Promise<void> {
  const raw = await message(kind, bytes);
  const repeats = bytes >= 50 * 1024 * 1024 ? 3 : bytes >= 5 * 1024 * 1024 ? 5 : bytes >= 100 * 1024 ? 30 : 300;
  const before = peakKb();
  const ms: number[] = [];
  let size = 0;
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    const r = await parse(parser, raw);
    ms.push(performance.now() - t);
    size = r.text.length + r.attachments.reduce((n, a) => n + a.length, 0);
  }
  if (size < bytes * 0.9) throw new Error(`${parser} gave ${size} of ${bytes} bytes for ${kind}`);
  process.stdout.write(JSON.stringify({ ms, raw: raw.length, peakMb: (peakKb() - before) / 1024 }));
}

const norm = (s: string) => s.replace(/\s+/g, ' ').trim();
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex').slice(0, 12);

async function agreement(): Promise<string[]> {
  const lines: string[] = [];
  let files = 0;
  let same = 0;
  const differ: string[] = [];
  const failed: Record<Parser, string[]> = { mailparser: [], 'postal-mime': [] };
  for (const c of DEBIAN_MAIL_CORPORA) {
    for (const file of listFiles(c.dir, c.take)) {
      files++;
      const raw = readFileSync(file);
      const got: Partial<Record<Parser, Parsed>> = {};
      for (const p of ['mailparser', 'postal-mime'] as Parser[]) {
        try {
          got[p] = await parse(p, raw);
        } catch (err) {
          failed[p].push(`${path.basename(file)} (${(err as Error).message.slice(0, 60)})`);
        }
      }
      const a = got.mailparser;
      const b = got['postal-mime'];
      if (!a || !b) continue;
      const textSame = norm(a.text) === norm(b.text);
      const attSame = a.attachments.map(sha).sort().join() === b.attachments.map(sha).sort().join();
      if (textSame && attSame) same++;
      else differ.push(`${c.pkg.split('-')[0]}/${path.basename(file)}: ${textSame ? '' : 'text'}${!textSame && !attSame ? ' and ' : ''}${attSame ? '' : `attachments (${a.attachments.length} against ${b.attachments.length})`}`);
    }
  }
  lines.push(`Debian's corpora (${DEBIAN_MAIL_CORPORA.map((c) => c.pkg).join(', ')}): ${files} messages; both parsers give the same text body (whitespace aside) and the same attachment bytes for **${same}**; they differ on ${differ.length}; mailparser failed on ${failed.mailparser.length}, postal-mime on ${failed['postal-mime'].length}.`);
  if (differ.length) lines.push('', `Where they differ: ${differ.slice(0, 25).join('; ')}${differ.length > 25 ? `; and ${differ.length - 25} more` : ''}.`);
  for (const p of ['mailparser', 'postal-mime'] as Parser[]) if (failed[p].length) lines.push('', `${p} failed on: ${failed[p].join('; ')}.`);
  return lines;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const label = (b: number) => (b >= 1024 * 1024 ? `${b / (1024 * 1024)} MB` : `${b / 1024} KB`);

async function main(): Promise<void> {
  const [mode, parser, kind, bytes] = process.argv.slice(2);
  if (mode === '--child') return child(parser as Parser, kind as Kind, Number(bytes));
  const out: string[] = [];
  const say = (s = '') => {
    out.push(s);
    console.log(s);
  };
  const load = recordLoad();
  say(`## The MIME layer: mailparser against postal-mime (\`node bench/mime/run.ts${QUICK ? ' --quick' : ''}\`)`);
  say();
  say(`Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}; mailparser ${version('mailparser')}, postal-mime ${version('postal-mime')}. Parsing only (structure, transfer decoding, charset to text); each case in a fresh process; median time; peak memory is the process's high-water mark less its own before parsing.`);
  say();
  const ratios: number[] = [];
  const best: number[] = [];
  say('| body | size | mailparser MB/s | postal-mime MB/s | postal-mime / mailparser | mailparser peak | postal-mime peak |');
  say('|---|---:|---:|---:|---:|---:|---:|');
  for (const kind of KINDS) {
    for (const size of SIZES) {
      const r: Partial<Record<Parser, { ms: number[]; raw: number; peakMb: number }>> = {};
      for (const p of ['mailparser', 'postal-mime'] as Parser[]) {
        r[p] = JSON.parse(execFileSync(process.execPath, [import.meta.filename, '--child', p, kind, String(size)], { maxBuffer: 1 << 20, encoding: 'utf8' }));
      }
      const rate = (p: Parser) => r[p]!.raw / 1e6 / (median(r[p]!.ms) / 1000);
      ratios.push(rate('postal-mime') / rate('mailparser'));
      if (size >= 5 * 1024 * 1024) best.push(rate('mailparser'), rate('postal-mime'));
      say(`| ${kind} | ${label(size)} | ${rate('mailparser').toFixed(1)} | ${rate('postal-mime').toFixed(1)} | ${(rate('postal-mime') / rate('mailparser')).toFixed(2)}× | ${r.mailparser!.peakMb.toFixed(0)} MB | ${r['postal-mime']!.peakMb.toFixed(0)} MB |`);
    }
  }
  say();
  say(`postal-mime runs at ${Math.min(...ratios).toFixed(2)}× to ${Math.max(...ratios).toFixed(2)}× mailparser's speed: faster on small and quoted-printable mail, slower on large base64 and multipart mail, and neither parses a large body at more than about ${Math.ceil(Math.max(...best) / 10) * 10} MB/s, against 150 MB/s asked of the whole check. A lean path for large bodies has to be Hallmonitor's own (as the single-part plain-text path already is: src/inspect/message.ts plainBody), not another parser.`);
  say();
  say('### Do they read the same?');
  say();
  for (const l of await agreement()) say(l);
  say();
  say(`- ${load.describe()}`);
  if (!QUICK && load.mayWrite('bench/mime/RESULTS.md')) writeFileSync(path.join(import.meta.dirname, 'RESULTS.md'), `${out.join('\n')}\n`);
}

function version(pkg: string): string {
  return (JSON.parse(readFileSync(path.join(import.meta.dirname, '../../node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
}

await main();
