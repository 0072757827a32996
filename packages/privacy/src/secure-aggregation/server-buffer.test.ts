/**
 * Regression: a masked input arriving as a Node Buffer at an odd offset of its pool (what Socket.IO hands the
 * coordinator) was "copied" with Buffer's slice(), a view of the same misaligned bytes, and the Uint32Array view threw
 * a RangeError instead of reading the words.
 */
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { SecureAggregationServerError } from './errors.ts';
import { createServerSession, receiveMaskedInput } from './server.ts';

describe('receiveMaskedInput', () => {
  it('reads a misaligned Node Buffer as words (the phase check answers, not a RangeError)', () => {
    const server = createServerSession({ session: 's/r1/a1', encoding: { maxWeight: 1, bounds: { w: 1 }, length: 2 } });
    const pool = Buffer.alloc(16);
    const misaligned = pool.subarray(1, 9);
    expect(misaligned.byteOffset % 4).toBe(1);
    let thrown: unknown;
    try {
      receiveMaskedInput(server, 'site-a', { session: 's/r1/a1', maskedInput: misaligned });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SecureAggregationServerError);
    expect((thrown as SecureAggregationServerError).code).toBe('phase-closed');
  });
});
