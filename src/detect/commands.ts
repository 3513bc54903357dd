// `hallmonitor detectors list|test`: what the gateway recognises, where each detector comes from
// (shipped, or the school's configuration), and whether every detector's examples hold.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { DETECTORS } from '../../detectors/index.ts';
import { detectorFromDocument } from '../../detectors/library/document.ts';
import type { Detector } from '../../detectors/library/types.ts';
import { ConfigError } from '../config/index.ts';
import { exampleFailures, examplesOf, exampleSet } from './examples.ts';

/** The shipped detectors and those of a configuration file, without running their examples. */
function readRegistry(file: string | undefined): Detector[] {
  if (!file) return [...DETECTORS];
  const source = path.resolve(file);
  let doc: unknown;
  try {
    doc = parse(readFileSync(source, 'utf8'));
  } catch (err) {
    throw new ConfigError(source, [`cannot read it: ${(err as Error).message.split('\n')[0]}`]);
  }
  const list = doc && typeof doc === 'object' && !Array.isArray(doc) ? (doc as Record<string, unknown>).detectors : undefined;
  if (list === undefined || list === null) return [...DETECTORS];
  if (!Array.isArray(list)) throw new ConfigError(source, ['detectors: expected a list (lines starting with "- ")']);
  const problems: string[] = [];
  const own = list.map((d, i) => detectorFromDocument(d, { origin: `configuration ${source}`, path: `detectors[${i}]` }, problems));
  if (problems.length) throw new ConfigError(source, problems);
  const ids = new Set(DETECTORS.map((d) => d.id));
  for (const d of own) if (d && ids.has(d.id)) problems.push(`detectors: duplicate detector id "${d.id}" (a shipped detector already has that id; choose another)`);
  if (problems.length) throw new ConfigError(source, problems);
  return [...DETECTORS, ...own.filter((d): d is NonNullable<typeof d> => !!d)];
}

export function registerDetectorCommands(program: Command): void {
  const detectors = program.command('detectors').description('The detectors the gateway runs: the shipped ones and the school\'s own (`detectors:` in the configuration)');

  detectors
    .command('list')
    .description('List every detector with its category and where it comes from')
    .option('-c, --config <file>', 'configuration file whose `detectors:` are listed too')
    .option('--json', 'one JSON object per detector')
    .exitOverride()
    .action((opts: { config?: string; json?: boolean }) => {
      const all = readRegistry(opts.config);
      for (const d of all) {
        const origin = d.origin ?? 'shipped';
        if (opts.json) process.stdout.write(JSON.stringify({ id: d.id, category: d.category, origin, description: d.description }) + '\n');
        else process.stdout.write(`${d.id.padEnd(28)} ${String(d.category).padEnd(18)} ${origin.padEnd(10)} ${d.description}\n`);
      }
    });

  detectors
    .command('test')
    .description("Run every detector's examples (texts it must and must not find); exit 1 at the first wrong one")
    .option('-c, --config <file>', "configuration file whose `detectors:` are tested with the shipped ones")
    .exitOverride()
    .action((opts: { config?: string }) => {
      const all = readRegistry(opts.config);
      const set = exampleSet(all);
      for (const d of all) {
        const [failure] = exampleFailures(all, [d], set);
        if (failure) {
          process.stdout.write(`WRONG ${d.id} (${failure.origin}): example ${failure.problem}\n`);
          process.exitCode = 1;
          return;
        }
        process.stdout.write(`ok    ${d.id} (${d.origin ?? 'shipped'}): ${examplesOf(d).length} must match, ${d.examples.noMatch.length} must not\n`);
      }
      process.stdout.write(`${all.length} detectors, every example right.\n`);
    });
}
