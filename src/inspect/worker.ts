// Extraction worker thread: parses one file layer at a time, off the SMTP event loop. Its V8 heap
// is capped by resourceLimits and the pool terminates it when a task overruns its time, so a
// hostile file costs at most one worker (restarted) and never the gateway.
import { parentPort } from 'node:worker_threads';
import { analyseLayer } from './layer.ts';
import type { LayerInput, LayerOutput } from './layer.ts';
import { judgeJpegThumbnail, type PictureJudgement } from './ocr-image.ts';
import { DataLinkSink } from './data-links.ts';
import { movable } from './movable.ts';
import { htmlBytesToText, htmlToText } from './text.ts';

/** An HTML body as a string, or as its UTF-8 bytes (a large one, moved here without a copy); a JPEG's thumbnail for the text-recognition gate. */
export type WorkerTask =
  | { id: number; kind: 'layer'; input: LayerInput }
  | { id: number; kind: 'html'; html: string | Uint8Array; maxChars: number; maxLinks: number; maxLinkBytes: number }
  | { id: number; kind: 'gate'; pnm: Uint8Array; size: { width: number; height: number }; twoLooks: boolean };

/** The text of an HTML body comes back as its UTF-8 bytes when it is large (moved, not copied). */
export type WorkerReply =
  | {
      id: number;
      ok: true;
      layer?: LayerOutput;
      text?: { text: string | Uint8Array; truncated: boolean };
      /** An HTML body's data: links (data-links.ts). */
      links?: { links: Array<{ type: string; bytes: Uint8Array }>; more: boolean };
      judgement?: PictureJudgement;
    }
  | { id: number; ok: false; error: string };

if (parentPort) {
  const port = parentPort;
  port.on('message', async (task: WorkerTask) => {
    try {
      if (task.kind === 'gate') {
        const pnm = Buffer.from(task.pnm.buffer, task.pnm.byteOffset, task.pnm.byteLength);
        const reply: WorkerReply = { id: task.id, ok: true, judgement: judgeJpegThumbnail(pnm, task.size, task.twoLooks) };
        port.postMessage(reply);
        return;
      }
      if (task.kind === 'html') {
        // Given as bytes (a large body), read a piece at a time; its text goes back as bytes when
        // it can (whole and well-formed), moved rather than copied.
        // Its data: links come back beside it (moved when they own their memory).
        const links = new DataLinkSink(task.maxLinks, task.maxLinkBytes);
        const read =
          typeof task.html === 'string'
            ? htmlToText(task.html, task.maxChars, 0, false, links)
            : htmlBytesToText(Buffer.from(task.html.buffer, task.html.byteOffset, task.html.byteLength), task.maxChars, undefined, false, links);
        const moved = new Set<ArrayBuffer>();
        for (const b of [typeof read.text === 'string' ? undefined : read.text, ...links.links.map((l) => l.bytes)]) {
          const ab = movable(b);
          if (ab) moved.add(ab);
        }
        const reply: WorkerReply = { id: task.id, ok: true, text: read, links: { links: links.links, more: links.more } };
        port.postMessage(reply, [...moved]);
        return;
      }
      const input = task.input;
      // Structured clone hands us a Uint8Array; the parsers want a Buffer view of the same memory.
      input.bytes = Buffer.from(input.bytes.buffer, input.bytes.byteOffset, input.bytes.byteLength);
      const layer = await analyseLayer(input);
      const transfer: ArrayBuffer[] = [];
      const seen = new Set<ArrayBuffer>();
      const collect = (l: LayerOutput): void => {
        const text = movable(l.utf8);
        if (text && !seen.has(text)) {
          seen.add(text);
          transfer.push(text);
        }
        for (const image of l.images ?? []) {
          const ab = movable(image.bytes);
          if (ab && !seen.has(ab)) {
            seen.add(ab);
            transfer.push(ab);
          }
        }
        for (const child of l.children ?? []) {
          const ab = movable(child.bytes);
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
