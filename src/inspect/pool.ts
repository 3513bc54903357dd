// A small pool of extraction worker threads with a V8 heap cap (resourceLimits) and a per-task
// deadline. A worker that overruns is terminated and replaced; one that runs out of memory dies
// alone. Idle workers are unref'd so they never keep the process alive.
import { Worker } from 'node:worker_threads';
import type { DataLinks } from './data-links.ts';
import type { LayerInput, LayerOutput } from './layer.ts';
import { movable } from './movable.ts';
import type { PictureJudgement } from './ocr-image.ts';
import { Utf8Text } from './utf8-text.ts';
import type { WorkerReply, WorkerTask } from './worker.ts';

export class TaskTimeoutError extends Error {}
export class TaskMemoryError extends Error {}
export class TaskCrashError extends Error {}

type TaskBody =
  | { kind: 'layer'; input: LayerInput }
  | { kind: 'html'; html: string | Uint8Array; maxChars: number; maxLinks: number; maxLinkBytes: number }
  | { kind: 'gate'; pnm: Uint8Array; size: { width: number; height: number }; twoLooks: boolean };

interface Pending {
  id: number;
  body: TaskBody;
  transfer: ArrayBuffer[];
  deadline: number;
  resolve: (reply: WorkerReply) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  busy?: Pending;
  timer?: NodeJS.Timeout;
}

const workerUrl = new URL('./worker.ts', import.meta.url);

export class ExtractionPool {
  private readonly size: number;
  private readonly memoryMb: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;
  /** Workers started so far (a restart after a crash or timeout counts). */
  started = 0;

  constructor(size: number, memoryMb: number) {
    this.size = Math.max(1, size);
    this.memoryMb = memoryMb;
  }

  runLayer(input: LayerInput, deadline: number): Promise<LayerOutput> {
    const transfer: ArrayBuffer[] = [];
    // Move the bytes without copying when they start their own ArrayBuffer.
    const ab = movable(input.bytes);
    if (ab) transfer.push(ab);
    return this.run({ kind: 'layer', input }, transfer, deadline).then((reply) => {
      if (!reply.ok || !reply.layer) throw new TaskCrashError(reply.ok ? 'no result' : reply.error);
      const layer = reply.layer;
      const toBuffers = (l: LayerOutput): void => {
        if (l.utf8) {
          l.text = new Utf8Text(Buffer.from(l.utf8.buffer, l.utf8.byteOffset, l.utf8.byteLength));
          delete l.utf8;
        }
        for (const image of l.images ?? []) image.bytes = Buffer.from(image.bytes.buffer, image.bytes.byteOffset, image.bytes.byteLength);
        for (const child of l.children ?? []) {
          if (child.bytes) child.bytes = Buffer.from(child.bytes.buffer, child.bytes.byteOffset, child.bytes.byteLength);
          if (child.layer) toBuffers(child.layer);
        }
      };
      toBuffers(layer);
      return layer;
    });
  }

  /**
   * An HTML body's text. Given as a Utf8Text, its bytes are moved to the worker when they start
   * their own ArrayBuffer (the caller must not read it afterwards), and a large text comes back as
   * its bytes too (a Utf8Text): neither side makes a string of the other's, nor copies it.
   */
  runHtml(
    html: string | Utf8Text,
    maxChars: number,
    deadline: number,
    links = { maxLinks: 0, maxBytes: 0 },
  ): Promise<{ text: string | Utf8Text; truncated: boolean; links: DataLinks }> {
    const given = typeof html === 'string' ? html : html.bytes;
    const ab = typeof given === 'string' ? undefined : movable(given);
    return this.run({ kind: 'html', html: given, maxChars, maxLinks: links.maxLinks, maxLinkBytes: links.maxBytes }, ab ? [ab] : [], deadline).then((reply) => {
      if (!reply.ok || !reply.text) throw new TaskCrashError(reply.ok ? 'no result' : reply.error);
      const { text, truncated } = reply.text;
      const found = reply.links ?? { links: [], more: false };
      return {
        text: typeof text === 'string' ? text : new Utf8Text(Buffer.from(text.buffer, text.byteOffset, text.byteLength)),
        truncated,
        links: { links: found.links.map((l) => ({ type: l.type, bytes: Buffer.from(l.bytes.buffer, l.bytes.byteOffset, l.bytes.byteLength) })), more: found.more },
      };
    });
  }

  /** Whether a task given now would start at once (no queue, a worker idle or one more may start). */
  get free(): boolean {
    return this.queue.length === 0 && (this.slots.length < this.size || this.slots.some((s) => !s.busy));
  }

  /** The text-recognition gate's judgement of a JPEG's thumbnail (djpeg's PNM, moved to the worker when it can be). */
  runGate(pnm: Buffer, size: { width: number; height: number }, twoLooks: boolean, deadline: number): Promise<PictureJudgement> {
    const ab = movable(pnm);
    return this.run({ kind: 'gate', pnm, size, twoLooks }, ab ? [ab] : [], deadline).then((reply) => {
      if (!reply.ok || !reply.judgement) throw new TaskCrashError(reply.ok ? 'no result' : reply.error);
      return reply.judgement;
    });
  }

  private run(body: TaskBody, transfer: ArrayBuffer[], deadline: number): Promise<WorkerReply> {
    if (this.closed) return Promise.reject(new TaskCrashError('inspection is shut down'));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, body, transfer, deadline, resolve, reject });
      this.pump();
    });
  }

  private spawn(): Slot {
    const worker = new Worker(workerUrl, {
      resourceLimits: { maxOldGenerationSizeMb: this.memoryMb, maxYoungGenerationSizeMb: Math.min(64, Math.max(8, this.memoryMb >> 3)), stackSizeMb: 4 },
    });
    this.started++;
    const slot: Slot = { worker };
    worker.on('message', (reply: WorkerReply) => {
      const task = slot.busy;
      if (!task || reply.id !== task.id) return;
      this.finish(slot);
      task.resolve(reply);
      this.pump();
    });
    worker.on('error', (err: Error & { code?: string }) => {
      const task = slot.busy;
      this.discard(slot);
      if (task) {
        if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') task.reject(new TaskMemoryError('out of memory'));
        else task.reject(new TaskCrashError('extraction failed'));
      }
      this.pump();
    });
    worker.on('exit', () => {
      const task = slot.busy;
      this.discard(slot);
      if (task) task.reject(new TaskCrashError('extraction worker stopped'));
      this.pump();
    });
    worker.unref();
    this.slots.push(slot);
    return slot;
  }

  private finish(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.busy = undefined;
    slot.worker.unref();
  }

  private discard(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.busy = undefined;
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
  }

  private pump(): void {
    while (this.queue.length) {
      const task = this.queue[0];
      const left = task.deadline - Date.now();
      if (left <= 0) {
        this.queue.shift();
        task.reject(new TaskTimeoutError('timed out waiting'));
        continue;
      }
      let slot = this.slots.find((s) => !s.busy);
      if (!slot) {
        if (this.slots.length >= this.size) return;
        slot = this.spawn();
      }
      this.queue.shift();
      slot.busy = task;
      slot.worker.ref();
      const s = slot;
      slot.timer = setTimeout(() => {
        const t = s.busy;
        this.discard(s);
        void s.worker.terminate();
        if (t) t.reject(new TaskTimeoutError('timed out'));
        this.pump();
      }, left);
      const message: WorkerTask = { id: task.id, ...task.body } as WorkerTask;
      try {
        slot.worker.postMessage(message, task.transfer);
      } catch {
        // A buffer that cannot be transferred (shared pool memory) is copied instead.
        slot.worker.postMessage(message);
      }
    }
  }

  /** Starts every worker and waits until each has loaded its parsers. */
  async warmUp(): Promise<void> {
    const deadline = Date.now() + 60_000;
    await Promise.all(Array.from({ length: this.size }, () => this.runHtml('<p>warm</p>', 100, deadline).catch(() => undefined)));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.queue.splice(0)) task.reject(new TaskCrashError('inspection is shut down'));
    const slots = this.slots.splice(0);
    await Promise.all(
      slots.map((s) => {
        if (s.timer) clearTimeout(s.timer);
        if (s.busy) s.busy.reject(new TaskCrashError('inspection is shut down'));
        s.busy = undefined;
        s.worker.ref();
        return s.worker.terminate();
      }),
    );
  }
}
