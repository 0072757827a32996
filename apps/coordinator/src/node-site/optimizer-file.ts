/**
 * A Node site's Adam state in a file next to its data (`<data file>.adam`), as the project's tensor file (`FMST`, one
 * CRC-32): `round` and `step` [1], `m:<parameter>` and `v:<parameter>` (the moments). Written to a temporary name,
 * then renamed, so a crash mid-write leaves the previous state. A missing, corrupt or foreign file loads as nothing:
 * the site starts a fresh Adam (see @facmic/site's optimizer-state.ts).
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { decodeTensors, encodeTensors } from '@facmic/protocol';
import type { OptimizerStore, SavedOptimizer } from '@facmic/site';

export function optimizerFileStore(file: string): OptimizerStore {
  return {
    load: async () => {
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await readFile(file));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
      const { tensors } = decodeTensors(bytes);
      const round = tensors.round?.data[0];
      const step = tensors.step?.data[0];
      if (round === undefined || step === undefined) throw new Error(`${file} holds no round or step`);
      const firstMoments: Record<string, { shape: number[]; data: Float32Array }> = {};
      const secondMoments: Record<string, { shape: number[]; data: Float32Array }> = {};
      for (const [name, tensor] of Object.entries(tensors)) {
        if (name.startsWith('m:')) firstMoments[name.slice(2)] = { shape: [...tensor.shape], data: tensor.data };
        if (name.startsWith('v:')) secondMoments[name.slice(2)] = { shape: [...tensor.shape], data: tensor.data };
      }
      return { round, state: { step, firstMoments, secondMoments } } satisfies SavedOptimizer;
    },
    save: async ({ round, state }) => {
      const tensors: Record<string, { shape: number[]; data: Float32Array }> = { round: { shape: [1], data: Float32Array.of(round) }, step: { shape: [1], data: Float32Array.of(state.step) } };
      for (const [name, m] of Object.entries(state.firstMoments)) tensors[`m:${name}`] = { shape: [...m.shape], data: m.data };
      for (const [name, v] of Object.entries(state.secondMoments)) tensors[`v:${name}`] = { shape: [...v.shape], data: v.data };
      const { bytes } = encodeTensors(tensors, { dtype: 'float32' });
      await writeFile(`${file}.tmp`, bytes);
      await rename(`${file}.tmp`, file);
    },
  };
}
