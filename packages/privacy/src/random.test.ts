import { describe, expect, it } from 'vitest';
import { PrivacyError } from './errors.ts';
import { cryptoRandomSource, prgRandomSource, uniform53 } from './random.ts';

describe('random sources', () => {
  it('replays a seeded AES-CTR stream, and says so when it is used up', async () => {
    const seed = new Uint8Array(32).fill(3);
    const a = await prgRandomSource(seed, 4);
    const b = await prgRandomSource(seed, 4);
    const first = [a.nextUint32(), a.nextUint32(), a.nextUint32(), a.nextUint32()];
    expect([b.nextUint32(), b.nextUint32(), b.nextUint32(), b.nextUint32()]).toEqual(first);
    expect(() => a.nextUint32()).toThrow(PrivacyError);
    expect((await prgRandomSource(seed, 1, 'other')).nextUint32()).not.toBe(first[0]);
  });

  it('draws from the platform CSPRNG across buffer refills, and makes 53-bit uniforms in [0, 1)', () => {
    const source = cryptoRandomSource();
    const words = Array.from({ length: 40_000 }, () => source.nextUint32());
    expect(new Set(words).size).toBeGreaterThan(39_990);
    expect(words.every((word) => Number.isInteger(word) && word >= 0 && word < 2 ** 32)).toBe(true);
    const extremes = [{ nextUint32: () => 0 }, { nextUint32: () => 0xffffffff }].map((fixed) => uniform53(fixed));
    expect(extremes[0]).toBe(0);
    expect(extremes[1]).toBeLessThan(1);
    expect(extremes[1]).toBeGreaterThan(1 - 2 ** -52);
  });
});
