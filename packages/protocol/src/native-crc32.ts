/**
 * A platform's own CRC-32, when it has one: none in browsers (the portable one in `crc32.ts` runs). Node resolves
 * `#native-crc32` to `native-crc32.node.ts` instead (the package's import map, like the encoder's `#platform`).
 */
export const nativeCrc32: ((bytes: Uint8Array) => number) | null = null;
