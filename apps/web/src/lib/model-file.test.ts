import { describe, expect, it } from 'vitest';
import { encodeTensors } from '@facmic/protocol';
import { initialModuleState } from '@facmic/learning/plain';
import { readModelFile } from './model-file.ts';

const federation = { module: { kind: 'facmic' as const, featureDim: 16 } };

describe('model files (.fmst)', () => {
  it('reads a module of this federation, in float32 or float16', () => {
    const state = initialModuleState('facmic', 16, 3);
    for (const dtype of ['float32', 'float16'] as const) {
      const reading = readModelFile('fed-round-2.fmst', encodeTensors(state, { dtype }).bytes, federation);
      expect(reading.ok).toBe(true);
      if (!reading.ok) return;
      expect(reading.model.name).toBe('fed-round-2.fmst');
      expect(Object.keys(reading.model.state).sort()).toEqual(Object.keys(state).sort());
    }
  });

  it('says in words why a file cannot be used', () => {
    const other = readModelFile('other.fmst', encodeTensors(initialModuleState('facmic', 8, 3)).bytes, federation);
    expect(other).toEqual({ ok: false, message: expect.stringContaining('other.fmst is not a model file of this federation: it holds another model') as unknown });
    const broken = readModelFile('broken.fmst', new TextEncoder().encode('FMST not really'), federation);
    expect(broken).toEqual({ ok: false, message: expect.stringContaining('it is not a .fmst model file, or it is damaged') as unknown });
    const bytes = encodeTensors(initialModuleState('facmic', 16, 3)).bytes;
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] ?? 0) ^ 0xff;
    expect(readModelFile('flipped.fmst', bytes, federation).ok).toBe(false);
  });
});
