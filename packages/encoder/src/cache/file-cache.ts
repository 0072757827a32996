/**
 * Feature cache in a folder (Node): one append-only file per model, `<dir>/<model hash>.features`.
 *
 * Format: an 16-byte header (`FACMICF1`, uint32 LE feature dim, uint32 LE 0), then records of 32 bytes (the image's
 * SHA-256) followed by `dim` float32 LE. A record cut short by a crash is dropped (and the file truncated back) when the
 * file is next opened, so the cache never serves half a vector. One writer process at a time.
 */
import { mkdir, open, readFile, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { FeatureCache } from '../types.ts';

const MAGIC = 'FACMICF1';
const HEADER_BYTES = 16;
const HASH_BYTES = 32;

interface ModelFile {
  readonly path: string;
  dim: number;
  readonly entries: Map<string, Float32Array>;
}

function hexToBytes(hex: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`not a SHA-256 hex digest: ${hex}`);
  const out = new Uint8Array(HASH_BYTES);
  for (let i = 0; i < HASH_BYTES; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function bytesToHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

async function loadModelFile(path: string): Promise<ModelFile> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { path, dim: 0, entries: new Map() };
    throw error;
  }
  if (data.length < HEADER_BYTES || data.toString('latin1', 0, 8) !== MAGIC) {
    throw new Error(`${path} is not a facmic feature cache file; delete it to start a fresh cache`);
  }
  const dim = data.readUInt32LE(8);
  const recordBytes = HASH_BYTES + dim * 4;
  const entries = new Map<string, Float32Array>();
  let offset = HEADER_BYTES;
  while (offset + recordBytes <= data.length) {
    const hash = bytesToHex(data.subarray(offset, offset + HASH_BYTES));
    const features = new Float32Array(dim);
    for (let i = 0; i < dim; i++) features[i] = data.readFloatLE(offset + HASH_BYTES + i * 4);
    entries.set(hash, features);
    offset += recordBytes;
  }
  if (offset !== data.length) await truncate(path, offset);
  return { path, dim, entries };
}

export async function createFileFeatureCache(dir: string): Promise<FeatureCache> {
  await mkdir(dir, { recursive: true });
  const models = new Map<string, Promise<ModelFile>>();
  const modelFile = (modelHash: string): Promise<ModelFile> => {
    if (!/^[0-9a-f]{64}$/.test(modelHash)) throw new Error(`not a model hash: ${modelHash}`);
    let file = models.get(modelHash);
    if (!file) {
      file = loadModelFile(join(dir, `${modelHash}.features`));
      models.set(modelHash, file);
    }
    return file;
  };
  let writing = Promise.resolve();
  return {
    description: `file:${dir}`,
    async getMany(modelHash, imageHashes) {
      const file = await modelFile(modelHash);
      return imageHashes.map((h) => file.entries.get(h)?.slice());
    },
    async putMany(modelHash, entries) {
      if (entries.length === 0) return;
      const file = await modelFile(modelHash);
      // Writes are chained so that the header decision and the append happen together, one batch at a time.
      const write = writing.then(async () => {
        const dim = entries[0]?.features.length ?? 0;
        if (file.dim !== 0 && file.dim !== dim) throw new Error(`feature dim ${dim} differs from the cache's ${file.dim} (${file.path})`);
        const fresh = entries.filter((e) => !file.entries.has(e.imageHash));
        if (fresh.length === 0) return;
        const header = file.dim === 0 ? HEADER_BYTES : 0;
        const buffer = Buffer.alloc(header + fresh.length * (HASH_BYTES + dim * 4));
        if (header) {
          buffer.write(MAGIC, 0, 'latin1');
          buffer.writeUInt32LE(dim, 8);
        }
        let offset = header;
        for (const { imageHash, features } of fresh) {
          if (features.length !== dim) throw new Error(`features of ${imageHash} have ${features.length} values, expected ${dim}`);
          buffer.set(hexToBytes(imageHash), offset);
          for (let i = 0; i < dim; i++) buffer.writeFloatLE(features[i] ?? 0, offset + HASH_BYTES + i * 4);
          offset += HASH_BYTES + dim * 4;
        }
        const handle = await open(file.path, 'a');
        try {
          await handle.write(buffer);
        } finally {
          await handle.close();
        }
        file.dim = dim;
        for (const { imageHash, features } of fresh) file.entries.set(imageHash, features.slice());
      });
      writing = write.catch(() => undefined);
      await write;
    },
    async close() {
      await writing;
    },
  };
}
