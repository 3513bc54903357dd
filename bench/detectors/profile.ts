// Development aid: scan the corpus for a while at one roster size, per-kind MB/s.
//   node --cpu-prof --cpu-prof-dir=/tmp/prof bench/detectors/profile.ts 2000 [kind]
import { compileDetectors } from '../../src/detect/index.ts';
import { syntheticPupils, syntheticCorpus, toRoster } from './corpus.ts';
const size = Number(process.argv[2] ?? 2000);
const only = process.argv[3];
const all = syntheticPupils(Math.max(size, 2000));
let corpus = syntheticCorpus(Number(process.env.CORPUS ?? 4e6), all.slice(0, 2000));
if (only) corpus = corpus.filter((d) => d.kind === only);
const set = compileDetectors({ roster: toRoster(all.slice(0, size)) });
const bytes = corpus.reduce((n, d) => n + d.text.length, 0);
for (let pass = 0; pass < Number(process.env.PASSES ?? 8); pass++) {
  const per: Record<string, [number, number]> = {};
  const t0 = performance.now();
  for (const d of corpus) {
    const t = performance.now();
    set.scan(d.text, 'body');
    const e = (per[d.kind] ??= [0, 0]);
    e[0] += performance.now() - t;
    e[1] += d.text.length;
  }
  const ms = performance.now() - t0;
  console.log(`pass ${pass}: ${(bytes / 1e3 / ms).toFixed(0)} MB/s  ` + Object.entries(per).map(([k, [t, b]]) => `${k} ${(b / 1e3 / t).toFixed(0)}`).join('  '));
}
