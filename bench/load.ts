// Benchmark hygiene, shared by every harness: a figure only holds when its baseline ran at its own
// speed, so each harness prints the load average before and after its run, and refuses to write
// its RESULTS.md (and so BENCHMARKS.md) when the machine was busy at the start: a 1-minute load
// average above 1.5 per core. `--force` writes anyway, with the load printed beside the figures.
import { cpus, loadavg } from 'node:os';

const fmt = () => loadavg().map((x) => x.toFixed(2)).join(' ');

export interface LoadRecord {
  /** The load average when the harness started (1, 5, 15 minutes). */
  readonly start: string;
  /** "load average 0.41 0.30 0.22 at the start, 1.02 0.50 0.31 at the end (2 cores)" */
  describe(): string;
  /** Whether the figures may be written: a quiet start, or --force (said so on the console). */
  mayWrite(file: string): boolean;
}

export function recordLoad(argv = process.argv): LoadRecord {
  const first = loadavg()[0];
  const start = fmt();
  const cores = cpus().length;
  const busy = first > 1.5 * cores;
  const force = argv.includes('--force');
  console.log(`load average at start: ${start} (${cores} cores)${busy ? ` — busy: above 1.5 per core, figures will not be written${force ? ' (but --force)' : ''}` : ''}`);
  return {
    start,
    describe: () => `load average ${start} at the start, ${fmt()} at the end (${cores} cores)${busy ? '; **taken on a busy machine: not a result**' : ''}`,
    mayWrite(file) {
      console.log(`load average at end: ${fmt()}`);
      if (!busy) return true;
      if (force) {
        console.log(`writing ${file} although the machine was busy at the start (--force); the load is printed beside the figures`);
        return true;
      }
      console.error(`${file} not written: load average ${first.toFixed(2)} at the start is above 1.5 per core (${cores} cores). Run again on a quiet machine, or with --force to record it anyway.`);
      return false;
    },
  };
}
