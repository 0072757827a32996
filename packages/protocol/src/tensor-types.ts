/** The types of the tensor file (`tensor-encoding.ts`) and its error, shared with the int8 dtype (`int8-tensor.ts`). */

/** Tensor value types on the wire. Decoded tensors are always float32 (`int8` ones: base + delta). */
export type TensorDtype = 'float32' | 'float16' | 'int8';

/** One named tensor: its shape and row-major values. Structurally equal to `@facmic/learning`'s module state entries. */
export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}
/** Named tensors, e.g. a module state `{ '0.weight': {shape: [512, 512], data}, ... }`. */
export type TensorSet = Record<string, NamedTensor>;
/** Expected names and shapes, e.g. from `moduleSpec(kind, dim)`. */
export type TensorSpec = Readonly<Record<string, readonly number[]>>;

/** Why a tensor file was refused; each reason is an error code of the protocol. */
export type TensorEncodingErrorCode = 'BAD_WEIGHTS' | 'WEIGHTS_SHAPE_MISMATCH' | 'NON_FINITE_WEIGHTS' | 'PAYLOAD_TOO_LARGE';

export class TensorEncodingError extends Error {
  override readonly name = 'TensorEncodingError';
  constructor(
    readonly code: TensorEncodingErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The model an `int8` file's deltas are taken from: the global model after round `round`. */
export interface TensorBase {
  round: number;
  tensors: TensorSet;
}
