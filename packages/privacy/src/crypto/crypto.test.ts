import { describe, expect, it } from 'vitest';
import { base64ToBytes, bytesToBase64 } from '@facmic/protocol';
import { CryptoError } from '../errors.ts';
import { agree, generateKeyPair, importPrivateKey, importPublicKey } from './key-agreement.ts';
import { addMask, expandMask } from './mask-prg.ts';
import { decryptShare, encryptShare, ENCRYPTION_OVERHEAD_BYTES, pairEncryptionKey } from './share-encryption.ts';
import { utf8 } from './webcrypto.ts';

describe('ECDH P-256 key agreement', () => {
  it('gives both sides the same 32-byte secret, different for other pairs', async () => {
    const [a, b, c] = await Promise.all([generateKeyPair(), generateKeyPair(), generateKeyPair()]);
    const ab = await agree(a, b.publicKey);
    expect(ab).toHaveLength(32);
    expect(Array.from(await agree(b, a.publicKey))).toEqual(Array.from(ab));
    expect(Array.from(await agree(a, c.publicKey))).not.toEqual(Array.from(ab));
    expect(base64ToBytes(a.publicKey)).toHaveLength(65);
    expect(base64ToBytes(a.privateKey)).toHaveLength(32);
  });

  it('refuses points that are not on the curve', async () => {
    const bytes = base64ToBytes((await generateKeyPair()).publicKey);
    bytes[40] = bytes[40]! ^ 0xff;
    await expect(importPublicKey(bytesToBase64(bytes))).rejects.toBeInstanceOf(CryptoError);
    await expect(importPublicKey(bytesToBase64(new Uint8Array(33)))).rejects.toBeInstanceOf(CryptoError);
  });
});

describe('AES-GCM share encryption', () => {
  it('round-trips, and refuses a wrong session, direction or any altered byte', async () => {
    const [a, b] = await Promise.all([generateKeyPair(), generateKeyPair()]);
    const keyAB = await pairEncryptionKey('s1', await importPrivateKey(a), b.publicKey);
    const keyBA = await pairEncryptionKey('s1', await importPrivateKey(b), a.publicKey);
    const plaintext = utf8('share of site 1 for site 2');
    const sealed = await encryptShare(keyAB, 's1', 1, 2, plaintext);
    expect(sealed).toHaveLength(plaintext.length + ENCRYPTION_OVERHEAD_BYTES);
    expect(new TextDecoder().decode(await decryptShare(keyBA, 's1', 1, 2, sealed))).toBe('share of site 1 for site 2');
    await expect(decryptShare(keyBA, 's2', 1, 2, sealed)).rejects.toBeInstanceOf(CryptoError);
    await expect(decryptShare(keyBA, 's1', 2, 1, sealed)).rejects.toBeInstanceOf(CryptoError);
    const altered = sealed.slice();
    altered[15] = altered[15]! ^ 1;
    await expect(decryptShare(keyBA, 's1', 1, 2, altered)).rejects.toBeInstanceOf(CryptoError);
    await expect(decryptShare(await pairEncryptionKey('s2', await importPrivateKey(b), a.publicKey), 's1', 1, 2, sealed)).rejects.toBeInstanceOf(CryptoError);
  });
});

describe('AES-CTR mask PRG', () => {
  it('is deterministic in seed, session and label, and uniform-looking', async () => {
    const seed = new Uint8Array(32).fill(7);
    const mask = await expandMask(seed, 's1', 'self 1', 100_000);
    expect(Array.from(await expandMask(seed, 's1', 'self 1', 100_000))).toEqual(Array.from(mask));
    expect((await expandMask(seed, 's1', 'self 1', 10)).slice(0, 10)).toEqual(mask.slice(0, 10));
    expect(Array.from(await expandMask(seed, 's2', 'self 1', 10))).not.toEqual(Array.from(mask.slice(0, 10)));
    expect(Array.from(await expandMask(seed, 's1', 'self 2', 10))).not.toEqual(Array.from(mask.slice(0, 10)));
    // Mean of U[0, 2^32): 2^31, standard error 2^32 / sqrt(12 * 100000) ~ 3.9e6.
    const mean = mask.reduce((sum, word) => sum + word, 0) / mask.length;
    expect(Math.abs(mean - 2 ** 31)).toBeLessThan(5 * 3.9e6);
    // Bits are balanced: each of the 32 bit positions is set in about half the words.
    for (let bit = 0; bit < 32; bit++) {
      let set = 0;
      for (const word of mask) set += (word >>> bit) & 1;
      expect(Math.abs(set - 50_000)).toBeLessThan(5 * 158);
    }
  });

  it('adds and removes masks mod 2^32', () => {
    const target = Uint32Array.of(0, 1, 0xffffffff, 12345);
    const mask = Uint32Array.of(0xffffffff, 0xffffffff, 2, 0x80000000);
    addMask(target, mask, 1);
    expect(Array.from(target)).toEqual([0xffffffff, 0, 1, 0x80003039]);
    addMask(target, mask, -1);
    expect(Array.from(target)).toEqual([0, 1, 0xffffffff, 12345]);
  });
});
