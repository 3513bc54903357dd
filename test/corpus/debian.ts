// Real-world mail nobody here wrote: the test messages shipped in Debian packages, read by the
// corpus test (test/inspect-corpus.test.ts), the MIME-layer equivalence tests
// (test/inspect-plain-body.test.ts, test/inspect-splitter.test.ts) and the MIME-layer benchmark
// (bench/mime/run.ts).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const DEBIAN_MAIL_CORPORA = [
  { pkg: 'libpython3.11-testsuite', dir: '/usr/lib/python3.11/test/test_email/data', take: (name: string) => name.startsWith('msg_') && name.endsWith('.txt'), atLeast: 45 },
  { pkg: 'golang-github-jhillyerd-enmime-dev', dir: '/usr/share/gocode/src/github.com/jhillyerd/enmime/testdata', take: (name: string) => name.endsWith('.raw'), atLeast: 75 },
  { pkg: 'python3-flufl.bounce', dir: '/usr/lib/python3/dist-packages/flufl/bounce/tests/data', take: (name: string) => name.endsWith('.txt'), atLeast: 110 },
];

/** Every file under `dir` whose name `take` accepts, sorted; none when `dir` does not exist. */
export function listFiles(dir: string, take: (name: string) => boolean = () => true): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (take(e.name)) out.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out.sort();
}

/**
 * Every file of every corpus that could be a message (.txt, .raw, .eml, in any folder): wider than
 * `take`, for tests that compare two readers of the same bytes, whatever the file holds. A corpus
 * that is missing is in `missing` (npm test installs them all: test/prepare.sh).
 */
export function everyMailFile(): { files: string[]; missing: string[] } {
  const missing = DEBIAN_MAIL_CORPORA.filter((c) => !existsSync(c.dir)).map((c) => c.dir);
  const files = DEBIAN_MAIL_CORPORA.flatMap((c) => listFiles(c.dir, (name) => /\.(txt|raw|eml)$/.test(name)));
  return { files, missing };
}
