/**
 * The two kinds of mask, shared by the site (which adds them) and the coordinator (which removes those that do not
 * cancel): the self mask PRG(b_u) and the pairwise mask +-PRG(s_uv), s_uv the ECDH secret of u's and v's masking keys.
 * The sign is + for the site with the larger index, so the pair cancels in the sum.
 */
import { sharedSecret } from '../crypto/key-agreement.ts';
import { expandMask } from '../crypto/mask-prg.ts';

export function selfMask(session: string, seed: Uint8Array<ArrayBuffer>, index: number, words: number): Promise<Uint32Array<ArrayBuffer>> {
  return expandMask(seed, session, `self ${index}`, words);
}

/** PRG(s_uv) for the pair of indexes (order-free), from u's imported private masking key and v's public one. */
export async function pairwiseMask(
  session: string,
  own: { privateKey: CryptoKey; index: number },
  peer: { publicKey: string; index: number },
  words: number,
): Promise<Uint32Array<ArrayBuffer>> {
  const secret = await sharedSecret(own.privateKey, peer.publicKey);
  const [low, high] = own.index < peer.index ? [own.index, peer.index] : [peer.index, own.index];
  return expandMask(secret, session, `pair ${low}-${high}`, words);
}

/** +1 when site u adds PRG(s_uv), -1 when it subtracts it. */
export function pairwiseSign(ownIndex: number, peerIndex: number): 1 | -1 {
  return ownIndex > peerIndex ? 1 : -1;
}

/** Runs `task` over `items` with at most `limit` in flight (mask expansion: bounded memory, overlapping crypto). */
export async function forEachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await task(item);
    }
  });
  await Promise.all(workers);
}
