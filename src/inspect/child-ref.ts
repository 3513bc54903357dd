// Whether a helper process (the PDF reader, the tools' helper) keeps the gateway's process alive:
// not while it waits for work (a finished command-line run must be able to exit), yes while it
// works (a pending answer must not be lost to an exit). The process and its IPC channel both.
import type { ChildProcess } from 'node:child_process';

type Channel = { ref?: () => void; unref?: () => void } | undefined;

/** Waiting for work: does not keep the gateway alive. */
export function letGo(child: ChildProcess): void {
  child.unref();
  (child.channel as unknown as Channel)?.unref?.();
}

/** Working for the gateway: keeps it alive until the answer comes. */
export function holdOpen(child: ChildProcess): void {
  child.ref();
  (child.channel as unknown as Channel)?.ref?.();
}
