/**
 * @facmic/protocol: every message between hospital sites, admins and the coordinator. Plain data: zod schemas (one
 * per message, types inferred), Socket.IO event maps, the ack envelope, error codes, the protocol version, invite
 * links and the binary tensor encoding of module states and features. No ML, no runtime code.
 */
export * from './version.ts';
export * from './errors.ts';
export * from './ack.ts';
export * from './binary.ts';
export * from './federation.ts';
export * from './privacy-settings.ts';
export * from './round-position.ts';
export * from './site-messages.ts';
export * from './admin-messages.ts';
export * from './secure-aggregation-messages.ts';
export * from './events.ts';
export * from './connect-error.ts';
export * from './invite.ts';
export * from './parse.ts';
export * from './tensor-encoding.ts';
export { INT8_LEVELS, type UniformSource } from './int8-tensor.ts';
export { crc32, crc32Hex, portableCrc32 } from './crc32.ts';
export { float16BitsToFloat32, float32ToFloat16Bits, FLOAT16_MAX } from './float16.ts';
