// Real-world mail nobody here wrote: the test messages shipped in Debian packages
// (libpython3.11-testsuite, golang-github-jhillyerd-enmime-dev, python3-flufl.bounce). Every
// message must inspect without a crash, and every text part that Python's email package finds
// (an independent oracle, test/fixtures/inspect/text_parts.py) must be in the inspection's texts,
// unless the inspection says explicitly why the message could not be read as a whole.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { inspect, shutdownInspection } from '../src/inspect/index.ts';
import { DEBIAN_MAIL_CORPORA, listFiles } from './corpus/debian.ts';

const oracleScript = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'inspect', 'text_parts.py');

const corpora = DEBIAN_MAIL_CORPORA;

/** Whitespace-insensitive comparison, as the oracle normalises too. */
function normalise(s: string): string {
  return s.split(/\s+/).filter(Boolean).join(' ');
}

// Reasons that mean "this message as a whole is malformed": the only acceptable excuse for a text
// part Python found and inspection did not.
const structuralReasons = ['ends before its last part is complete', 'contains part boundaries', 'base64 encoding is invalid', 'more MIME parts than the parser allows', 'header block'];

afterAll(async () => {
  await shutdownInspection();
});

describe.each(corpora)('$pkg', ({ pkg, dir, take, atLeast }) => {
  it('is installed and has its messages', () => {
    // A missing package is a failure, not a skip (npm test installs it: test/prepare.sh).
    expect(existsSync(dir), `${pkg} is not installed (${dir})`).toBe(true);
    expect(listFiles(dir, take).length).toBeGreaterThanOrEqual(atLeast);
  });

  it('every message inspects without a crash, and every text part is found', async () => {
    const files = listFiles(dir, take);
    const oracle = JSON.parse(execFileSync('/usr/bin/python3', [oracleScript, ...files], { maxBuffer: 64 * 1024 * 1024 }).toString()) as Record<string, Array<{ type: string; probe: string }>>;
    const missing: string[] = [];
    let probes = 0;
    for (const file of files) {
      const raw = readFileSync(file);
      const result = await inspect(raw);
      expect(result.bytes).toBe(raw.length);
      for (const u of result.uninspectable) expect(u.reason.length).toBeGreaterThan(10);
      const all = normalise(result.texts.map((t) => t.text).join('\n'));
      const excused = result.uninspectable.some((u) => structuralReasons.some((r) => u.reason.includes(r)));
      for (const part of oracle[file] ?? []) {
        probes++;
        if (!all.includes(part.probe) && !excused) missing.push(`${file}: ${part.type} "${part.probe}"`);
      }
    }
    expect(probes).toBeGreaterThan(10);
    expect(missing).toEqual([]);
  }, 300_000);
});

describe('what the corpus shows about structure', () => {
  it('text that sits in the header block without a header name is still scanned (Python reads it as body)', async () => {
    const r = await inspect(readFileSync('/usr/lib/python3.11/test/test_email/data/msg_35.txt'));
    expect(r.texts.map((t) => t.text).join('\n')).toContain("counter to RFC 2822, there's no separating newline here");
    expect(r.headers.map((h) => h.key)).toEqual(['from', 'to', 'subject']);
  });

  it('a multipart without its closing boundary is reported as cut off', async () => {
    const r = await inspect(readFileSync('/usr/share/gocode/src/github.com/jhillyerd/enmime/testdata/parts/multimixed-no-closing-boundary.raw'));
    expect(r.uninspectable).toContainEqual({ where: 'message', reason: 'The message ends before its last part is complete (it may have been cut off)' });
  });

  it('a single part with a boundary parameter that splits is reported as ambiguous', async () => {
    const r = await inspect(readFileSync('/usr/lib/python3.11/test/test_email/data/msg_40.txt'));
    expect(r.uninspectable.map((u) => u.reason)).toContain('A part of the message that is not multipart contains part boundaries, so different mail programs would show different contents');
  });
});
