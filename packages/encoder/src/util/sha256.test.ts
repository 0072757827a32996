import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { digestSha256Hex, Sha256, sha256Hex, sha256HexOfText } from './sha256.ts';

const nodeHex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('sha256 (plain TypeScript)', () => {
  it('matches the published test vectors', () => {
    expect(sha256HexOfText('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256HexOfText('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('matches node:crypto for every length around the block boundaries', () => {
    const data = randomBytes(300);
    for (let n = 0; n <= 300; n++) expect(sha256Hex(data.subarray(0, n))).toBe(nodeHex(data.subarray(0, n)));
  });

  it('gives the same digest when fed in chunks', () => {
    const data = randomBytes(1 << 20);
    const hash = new Sha256();
    for (let offset = 0; offset < data.length; offset += 7919) hash.update(data.subarray(offset, offset + 7919));
    expect(hash.hex()).toBe(nodeHex(data));
  });

  it('gives the same digest through crypto.subtle', async () => {
    const data = randomBytes(4097);
    expect(await digestSha256Hex(data)).toBe(nodeHex(data));
  });
});
