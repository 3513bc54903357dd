// Which buffers move to (and from) a worker thread without a copy: shared by the pool (pool.ts)
// and its workers (worker.ts).

/** The ArrayBuffer a view starts, when it can be moved to a worker without copying (never Node's shared pool, which is at most Buffer.poolSize); an untouched tail past the view costs nothing. */
export function movable(bytes: Uint8Array | undefined): ArrayBuffer | undefined {
  if (!bytes) return undefined;
  const ab = bytes.buffer as ArrayBuffer;
  return bytes.byteOffset === 0 && ab.byteLength > Buffer.poolSize && !(ab instanceof SharedArrayBuffer) ? ab : undefined;
}
