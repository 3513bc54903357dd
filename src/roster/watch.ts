// Reloading the roster when the MIS export is replaced: a new roster only when it reads well.
import { stat } from 'node:fs/promises';
import { watch, statSync, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { loadRoster } from './read.ts';
import { RosterError, type Roster, type RosterProblem } from './types.ts';

export interface WatchOptions {
  /** Wait this long after the last change before reading (an export may be written in pieces). */
  debounceMs?: number;
  /** Also check the file's size and time this often (watch events are unreliable on some shares). */
  pollMs?: number;
}

/**
 * Reload the roster when its file changes. `onChange` receives a new roster only when the new
 * file was read successfully and holds at least one pupil; otherwise `onError` says why and the
 * caller keeps the detector set it has (compile the new set first, then swap it in whole).
 */
export function watchRoster(
  path: string,
  onChange: (r: Roster, problems: RosterProblem[]) => void,
  onError: (e: Error) => void,
  opts: WatchOptions = {},
): () => void {
  const debounceMs = opts.debounceMs ?? 300;
  const pollMs = opts.pollMs ?? 5000;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  let lastSignature: string | undefined;

  const signature = async (): Promise<string | undefined> => {
    try {
      const s = await stat(path);
      return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    } catch {
      return undefined;
    }
  };
  // The file as it is now (read synchronously, so a change made right after this call is seen
  // as a change, not taken for the starting point).
  try {
    const s0 = statSync(path);
    lastSignature = `${s0.ino}:${s0.size}:${s0.mtimeMs}:${s0.ctimeMs}`;
  } catch {
    lastSignature = undefined;
  }

  const check = async () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      const sig = await signature();
      if (sig === lastSignature) return;
      lastSignature = sig;
      if (sig === undefined) {
        onError(new RosterError(`The roster file has gone (${path}); the previous roster stays in use.`));
        return;
      }
      try {
        const { roster, problems } = await loadRoster(path);
        if (stopped) return;
        if (roster.pupils.length === 0) {
          onError(new RosterError('The new roster file holds no pupils; the previous roster stays in use.'));
          return;
        }
        onChange(roster, problems);
      } catch (e) {
        if (!stopped) onError(e instanceof Error ? e : new Error(String(e)));
      }
    } finally {
      running = false;
      if (again && !stopped) {
        again = false;
        schedule();
      }
    }
  };
  const schedule = () => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void check(), debounceMs);
    timer.unref?.();
  };

  let watcher: FSWatcher | undefined;
  try {
    const name = basename(path);
    watcher = watch(dirname(path), { persistent: false }, (_event, filename) => {
      if (!filename || filename.toString() === name) schedule();
    });
    watcher.on('error', () => undefined);
  } catch {
    watcher = undefined; // polling still works
  }
  const poll = setInterval(() => void check(), pollMs);
  poll.unref?.();

  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    clearInterval(poll);
    watcher?.close();
  };
}
