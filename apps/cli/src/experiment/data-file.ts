/**
 * Simulation data on disk, so the grid's child processes share one encoding: a little-endian uint32 header length,
 * the JSON header, zero padding to 4 bytes, then the float32 text features and, per site, its float32 features and
 * int32 labels.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { SimulationData } from '../simulation/index.ts';

interface Header {
  readonly format: 'facmic-simulation-data';
  readonly version: 1;
  readonly description: string;
  readonly dim: number;
  readonly classNames: readonly string[];
  readonly sites: readonly { name: string; rows: number }[];
}

const align4 = (n: number): number => (n + 3) & ~3;

export function writeSimulationData(file: string, data: SimulationData): void {
  const header: Header = {
    format: 'facmic-simulation-data',
    version: 1,
    description: data.description,
    dim: data.dim,
    classNames: [...data.classNames],
    sites: data.sites.map((site) => ({ name: site.name, rows: site.data.labels.length })),
  };
  const json = Buffer.from(JSON.stringify(header));
  const start = align4(4 + json.length);
  const arrays: ArrayBufferView[] = [data.textFeatures.features];
  for (const site of data.sites) arrays.push(site.data.features, site.data.labels);
  const total = start + arrays.reduce((sum, a) => sum + a.byteLength, 0);
  const out = Buffer.alloc(total);
  out.writeUInt32LE(json.length, 0);
  json.copy(out, 4);
  let offset = start;
  for (const array of arrays) {
    out.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), offset);
    offset += array.byteLength;
  }
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, out);
  renameSync(temporary, file);
}

export function readSimulationData(file: string): SimulationData {
  const bytes = readFileSync(file);
  const length = bytes.readUInt32LE(0);
  const parsed = JSON.parse(bytes.subarray(4, 4 + length).toString('utf8')) as Partial<Record<keyof Header, unknown>>;
  if (parsed.format !== 'facmic-simulation-data' || parsed.version !== 1) throw new Error(`${file} is not a facmic simulation data file`);
  const header = parsed as Header;
  let offset = align4(4 + length);
  const take = <T>(make: (buffer: ArrayBuffer) => T, count: number): T => {
    const slice = bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + count * 4);
    offset += count * 4;
    return make(slice);
  };
  const dim = header.dim;
  const text = take((b) => new Float32Array(b), header.classNames.length * dim);
  const sites = header.sites.map((site) => {
    const features = take((b) => new Float32Array(b), site.rows * dim);
    const labels = take((b) => new Int32Array(b), site.rows);
    return { name: site.name, data: { dim, features, labels } };
  });
  if (offset !== bytes.length) throw new Error(`${file}: ${bytes.length - offset} trailing bytes`);
  return { description: header.description, dim, classNames: header.classNames, textFeatures: { dim, features: text }, sites };
}
