// Extraction worker thread: parses one file layer at a time, off the SMTP event loop. Its V8 heap
// is capped by resourceLimits and the pool terminates it when a task overruns its time, so a
// hostile file costs at most one worker (restarted) and never the gateway.
import { parentPort } from 'node:worker_threads';
import { analyseLayer } from './layer.ts';
import type { LayerInput, LayerOutput } from './layer.ts';
import { htmlToText } from './text.ts';

export type WorkerTask = { id: number; kind: 'layer'; input: LayerInput } | { id: number; kind: 'html'; html: string; maxChars: number };

export type WorkerReply = { id: number; ok: true; layer?: LayerOutput; text?: { text: string; truncated: boolean } } | { id: number; ok: false; error: string };

function transferable(buf: Buffer | undefined): ArrayBuffer | undefined {
  if (!buf) return undefined;
  const ab = buf.buffer as ArrayBuffer;
  // Only a buffer at the start of its own ArrayBuffer moves without copying (never the shared pool).
  return buf.byteOffset === 0 && ab.byteLength > Buffer.poolSize ? ab : undefined;
}

if (parentPort) {
  const port = parentPort;
  port.on('message', async (task: WorkerTask) => {
    try {
      if (task.kind === 'html') {
        const reply: WorkerReply = { id: task.id, ok: true, text: htmlToText(task.html, task.maxChars) };
        port.postMessage(reply);
        return;
      }
      const input = task.input;
      // Structured clone hands us a Uint8Array; the parsers want a Buffer view of the same memory.
      input.bytes = Buffer.from(input.bytes.buffer, input.bytes.byteOffset, input.bytes.byteLength);
      const layer = await analyseLayer(input);
      const transfer: ArrayBuffer[] = [];
      const seen = new Set<ArrayBuffer>();
      const collect = (l: LayerOutput): void => {
        for (const image of l.images ?? []) {
          const ab = transferable(image.bytes);
          if (ab && !seen.has(ab)) {
            seen.add(ab);
            transfer.push(ab);
          }
        }
        for (const child of l.children ?? []) {
          const ab = transferable(child.bytes);
          if (ab && !seen.has(ab)) {
            seen.add(ab);
            transfer.push(ab);
          }
          if (child.layer) collect(child.layer);
        }
      };
      collect(layer);
      const reply: WorkerReply = { id: task.id, ok: true, layer };
      port.postMessage(reply, transfer);
    } catch (e) {
      const reply: WorkerReply = { id: task.id, ok: false, error: e instanceof Error ? e.message : String(e) };
      port.postMessage(reply);
    }
  });
}
