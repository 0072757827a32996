import { describe, expect, it } from 'vitest';
import { float16BitsToFloat32, float32ToFloat16Bits } from './float16.ts';
import {
  decodeTensors,
  encodedTensorsByteLength,
  encodeTensors,
  TensorEncodingError,
  type TensorEncodingErrorCode,
  type TensorSet,
  type TensorSpec,
} from './tensor-encoding.ts';

function randomState(dim: number, seed = 1): TensorSet {
  let s = seed;
  const rand = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  };
  const t = (shape: number[]) => ({ shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, rand) });
  return { '0.weight': t([dim, dim]), '0.bias': t([dim]), '1.running_var': t([dim]), '1.num_batches_tracked': { shape: [], data: new Float32Array([7]) } };
}
const specOf = (state: TensorSet): TensorSpec => Object.fromEntries(Object.entries(state).map(([k, v]) => [k, v.shape]));

function codeOf(fn: () => unknown): TensorEncodingErrorCode | 'none' {
  try {
    fn();
    return 'none';
  } catch (e) {
    if (e instanceof TensorEncodingError) return e.code;
    throw e;
  }
}

describe('float16', () => {
  it('round-trips every finite half value exactly', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      if ((bits & 0x7c00) === 0x7c00) continue;
      const v = float16BitsToFloat32(bits);
      const back = float32ToFloat16Bits(v);
      // +0 and -0 keep their sign bit.
      expect(back).toBe(bits);
    }
  });

  it('rounds to nearest, ties to even, and overflows to Infinity', () => {
    expect(float16BitsToFloat32(float32ToFloat16Bits(1 + 2 ** -11))).toBe(1); // tie -> even (1.0)
    expect(float16BitsToFloat32(float32ToFloat16Bits(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9); // tie -> even (up)
    expect(float16BitsToFloat32(float32ToFloat16Bits(0.1))).toBeCloseTo(0.0999755859375, 12);
    expect(float16BitsToFloat32(float32ToFloat16Bits(65520))).toBe(Infinity);
    expect(float16BitsToFloat32(float32ToFloat16Bits(65504))).toBe(65504);
    expect(float16BitsToFloat32(float32ToFloat16Bits(2 ** -25))).toBe(0); // tie at the smallest subnormal -> even (0)
    expect(float16BitsToFloat32(float32ToFloat16Bits(3 * 2 ** -26))).toBe(2 ** -24);
  });
});

describe('tensor encoding', () => {
  it('round-trips float32 exactly and checks the expected spec', () => {
    const state = randomState(8);
    const { bytes, checksum } = encodeTensors(state);
    expect(bytes.byteLength).toBe(encodedTensorsByteLength(specOf(state)));
    const decoded = decodeTensors(bytes, { expected: specOf(state) });
    for (const [name, t] of Object.entries(state)) {
      expect(decoded.tensors[name]?.shape).toEqual(t.shape);
      expect(Array.from(decoded.tensors[name]?.data ?? [])).toEqual(Array.from(t.data));
      expect(decoded.dtypes[name]).toBe('float32');
    }
    expect(decoded.checksum).toMatch(/^[0-9a-f]{8}$/);
    expect(decoded.checksum).toBe(checksum);
  });

  it('encodes the same state to the same bytes whatever the key order', () => {
    const state = randomState(4);
    const reversed = Object.fromEntries(Object.entries(state).reverse());
    expect(encodeTensors(reversed)).toEqual(encodeTensors(state));
  });

  it('float16 halves the size, keeps named tensors in float32 and stays within half precision', () => {
    const state = randomState(64);
    const full = encodeTensors(state).bytes;
    const half = encodeTensors(state, { dtype: 'float16', float32Names: ['1.num_batches_tracked'] }).bytes;
    expect(half.byteLength).toBeLessThan(full.byteLength * 0.52);
    expect(half.byteLength).toBe(encodedTensorsByteLength(specOf(state), 'float16', ['1.num_batches_tracked']));
    const decoded = decodeTensors(half, { expected: specOf(state) });
    expect(decoded.dtypes['1.num_batches_tracked']).toBe('float32');
    expect(decoded.dtypes['0.weight']).toBe('float16');
    const a = state['0.weight']!.data;
    const b = decoded.tensors['0.weight']!.data;
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(Math.abs(a[i]!) * 2 ** -11 + 2 ** -24);
  });

  it('views float32 data in place on request, and copies where it must (unaligned)', () => {
    const { bytes } = encodeTensors(randomState(4));
    const viewed = decodeTensors(bytes, { copy: false }).tensors['0.weight']!.data;
    expect(viewed.buffer).toBe(bytes.buffer);
    expect(decodeTensors(bytes).tensors['0.weight']!.data.buffer).not.toBe(bytes.buffer);
    const padded = new Uint8Array(bytes.byteLength + 1);
    padded.set(bytes, 1);
    const shifted = decodeTensors(padded.subarray(1), { copy: false }).tensors['0.weight']!.data;
    expect(shifted.buffer).not.toBe(padded.buffer);
    expect(Array.from(shifted)).toEqual(Array.from(viewed));
  });

  it('decodes from an unaligned view (as a pooled Node Buffer may be)', () => {
    const bytes = encodeTensors(randomState(4)).bytes;
    const padded = new Uint8Array(bytes.byteLength + 3);
    padded.set(bytes, 3);
    const view = padded.subarray(3);
    expect(decodeTensors(view).tensors['0.bias']?.data).toEqual(randomState(4)['0.bias']?.data);
  });

  it('refuses to encode NaN, Infinity, float16 overflow and data that does not fit its shape', () => {
    const nan = randomState(4);
    nan['0.bias']!.data[2] = NaN;
    expect(codeOf(() => encodeTensors(nan))).toBe('NON_FINITE_WEIGHTS');
    const big = randomState(4);
    big['0.bias']!.data[0] = 1e6;
    expect(codeOf(() => encodeTensors(big, { dtype: 'float16' }))).toBe('NON_FINITE_WEIGHTS');
    expect(codeOf(() => encodeTensors(big))).toBe('none');
    expect(codeOf(() => encodeTensors({ w: { shape: [2, 2], data: new Float32Array(3) } }))).toBe('WEIGHTS_SHAPE_MISMATCH');
  });

  const good = encodeTensors(randomState(4)).bytes;
  const spec = specOf(randomState(4));
  const withCrc = (bytes: Uint8Array) => {
    // Recompute the trailer so that only the targeted defect remains.
    const out = bytes.slice();
    const view = new DataView(out.buffer);
    const body = out.subarray(0, out.byteLength - 4);
    let crc = 0xffffffff;
    for (const b of body) {
      crc ^= b;
      for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
    }
    view.setUint32(out.byteLength - 4, (crc ^ 0xffffffff) >>> 0, true);
    return out;
  };
  const replaceHeader = (json: string) => {
    const header = new TextEncoder().encode(json);
    const out = new Uint8Array(12 + header.length + 64);
    out.set(good.subarray(0, 12));
    new DataView(out.buffer).setUint32(8, header.length, true);
    out.set(header, 12);
    return withCrc(out);
  };
  const nanFile = (() => {
    const out = good.slice();
    const headerLength = new DataView(out.buffer).getUint32(8, true);
    const dataAt = (12 + headerLength + 3) & ~3;
    new DataView(out.buffer).setFloat32(dataAt, NaN, true);
    return withCrc(out);
  })();

  it.each<[string, Uint8Array, TensorSpec | undefined, TensorEncodingErrorCode]>([
    ['empty input', new Uint8Array(0), undefined, 'BAD_WEIGHTS'],
    ['wrong magic', withCrc(Object.assign(good.slice(), { 0: 0x00 })), undefined, 'BAD_WEIGHTS'],
    ['flipped data bit', Object.assign(good.slice(), { [good.length - 10]: good[good.length - 10]! ^ 1 }), undefined, 'BAD_WEIGHTS'],
    ['truncated', good.subarray(0, good.length - 8), undefined, 'BAD_WEIGHTS'],
    ['future version', withCrc(Object.assign(good.slice(), { 4: 9 })), undefined, 'BAD_WEIGHTS'],
    ['header not JSON', replaceHeader('{"tensors": ['), undefined, 'BAD_WEIGHTS'],
    ['header with bad dtype', replaceHeader('{"tensors":[{"name":"a","shape":[2],"dtype":"int8"}]}'), undefined, 'BAD_WEIGHTS'],
    ['header with negative dim', replaceHeader('{"tensors":[{"name":"a","shape":[-2],"dtype":"float32"}]}'), undefined, 'BAD_WEIGHTS'],
    ['header with a huge tensor', replaceHeader('{"tensors":[{"name":"a","shape":[100000,100000],"dtype":"float32"}]}'), undefined, 'BAD_WEIGHTS'],
    ['header and length disagree', replaceHeader('{"tensors":[{"name":"a","shape":[2],"dtype":"float32"}]}'), undefined, 'BAD_WEIGHTS'],
    ['duplicate names', replaceHeader('{"tensors":[{"name":"a","shape":[2],"dtype":"float32"},{"name":"a","shape":[2],"dtype":"float32"}]}'), undefined, 'BAD_WEIGHTS'],
    ['missing tensor', good, { ...spec, extra: [3] }, 'WEIGHTS_SHAPE_MISMATCH'],
    ['unexpected tensor', good, Object.fromEntries(Object.entries(spec).slice(1)), 'WEIGHTS_SHAPE_MISMATCH'],
    ['wrong shape', good, { ...spec, '0.weight': [4, 5] }, 'WEIGHTS_SHAPE_MISMATCH'],
    ['NaN inside', nanFile, spec, 'NON_FINITE_WEIGHTS'],
  ])('refuses %s', (_label, bytes, expected, code) => {
    expect(codeOf(() => decodeTensors(bytes, expected ? { expected } : {}))).toBe(code);
  });

  /** Names that Object.prototype has: a client's tensor of that name is an entry like any other, never "in" a spec. */
  const INHERITED_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', '__defineGetter__'];

  it.each(INHERITED_NAMES)('refuses an extra tensor named %s with WEIGHTS_SHAPE_MISMATCH', (name) => {
    const state = randomState(4);
    // Object.fromEntries defines own properties, `__proto__` included.
    const withExtra: TensorSet = Object.fromEntries([...Object.entries(state), [name, { shape: [2], data: new Float32Array([1, 2]) }]]);
    const bytes = encodeTensors(withExtra).bytes;
    expect(codeOf(() => decodeTensors(bytes, { expected: specOf(state) }))).toBe('WEIGHTS_SHAPE_MISMATCH');
    // In place of an expected tensor, too.
    const renamed: TensorSet = Object.fromEntries(Object.entries(state).map(([k, v]) => [k === '0.bias' ? name : k, v]));
    expect(codeOf(() => decodeTensors(encodeTensors(renamed).bytes, { expected: specOf(state) }))).toBe('WEIGHTS_SHAPE_MISMATCH');
  });

  it.each(INHERITED_NAMES)('decodes a tensor named %s as an own entry when no spec is given', (name) => {
    const bytes = encodeTensors(Object.fromEntries([[name, { shape: [2], data: new Float32Array([1, 2]) }]])).bytes;
    const decoded = decodeTensors(bytes);
    expect(Object.keys(decoded.tensors)).toEqual([name]);
    expect(Object.hasOwn(decoded.tensors, name)).toBe(true);
    expect(Array.from(decoded.tensors[name]!.data)).toEqual([1, 2]);
  });

  it('refuses inputs above maxBytes before reading them', () => {
    expect(codeOf(() => decodeTensors(good, { maxBytes: 10 }))).toBe('PAYLOAD_TOO_LARGE');
  });

  it('sizes a D=512 FACMIC state at about 2.1 MB in float32 and half that in float16', () => {
    const d = 512;
    const facmic = { '0.weight': [d, d], '0.bias': [d], '1.weight': [d], '1.bias': [d], '1.running_mean': [d], '1.running_var': [d], '1.num_batches_tracked': [], '3.weight': [d, d], '3.bias': [d] };
    const fp32 = encodedTensorsByteLength(facmic, 'float32');
    expect(fp32).toBeGreaterThan(2 * d * d * 4);
    expect(fp32).toBeLessThan((2 * d * d + 6 * d + 1) * 4 + 1_000);
    expect(encodedTensorsByteLength(facmic, 'float16')).toBeLessThan(fp32 / 2 + 1_000);
  });
});

describe('crc32', () => {
  const bitwise = (bytes: Uint8Array) => {
    let crc = 0xffffffff;
    for (const b of bytes) {
      crc ^= b;
      for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
    }
    return (crc ^ 0xffffffff) >>> 0;
  };

  it('matches the standard check value and a bitwise reference on every length mod 8', async () => {
    const { crc32 } = await import('./crc32.ts');
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    for (let length = 0; length < 40; length++) {
      const bytes = Uint8Array.from({ length }, (_, i) => (i * 131 + length * 7) & 0xff);
      expect(crc32(bytes)).toBe(bitwise(bytes));
    }
  });

  it('agrees with the byte-wise definition at every alignment and tail length, portable and platform alike', async () => {
    const { crc32, portableCrc32 } = await import('./crc32.ts');
    const backing = Uint8Array.from({ length: 400 }, (_, i) => (i * 2654435761) >>> 24);
    for (let start = 0; start < 4; start++) {
      for (let length = 60; length < 100; length++) {
        const bytes = backing.subarray(start, start + length);
        expect(portableCrc32(bytes)).toBe(bitwise(bytes));
      }
      const long = backing.subarray(start, start + 393);
      expect(portableCrc32(long)).toBe(bitwise(long));
    }
    const large = Uint8Array.from({ length: 70_001 }, (_, i) => (i * 2654435761) >>> 24);
    for (const view of [large, large.subarray(1), large.subarray(3, 65_000)]) {
      expect(crc32(view)).toBe(bitwise(view));
      expect(portableCrc32(view)).toBe(bitwise(view));
    }
  });
});

describe('float16 decoding', () => {
  it('decodes every finite half value as float16BitsToFloat32 does, at either alignment', () => {
    const values: number[] = [];
    for (let bits = 0; bits < 0x10000; bits++) if ((bits & 0x7c00) !== 0x7c00) values.push(float16BitsToFloat32(bits));
    const state = { w: { shape: [values.length], data: Float32Array.from(values) } };
    const { bytes } = encodeTensors(state, { dtype: 'float16' });
    for (const shift of [0, 1]) {
      const padded = new Uint8Array(bytes.byteLength + shift);
      padded.set(bytes, shift);
      const decoded = decodeTensors(padded.subarray(shift)).tensors.w!.data;
      expect(Object.is(decoded[0], 0)).toBe(true);
      expect(Array.from(decoded)).toEqual(Array.from(state.w.data));
    }
  });
});
