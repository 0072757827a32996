/**
 * A model file downloaded from the dashboard (`.fmst`: the federation's attention module as an FMST tensor file,
 * format in `packages/protocol/README.md`), read in the browser so the hospital page can classify with it without
 * the coordinator. The file holds only the module's weights: it is checked against this federation's module (its
 * method and feature size); the classes and the image model are the federation's.
 */
import { decodeTensors, TensorEncodingError, type FederationConfig } from '@facmic/protocol';
import { getMethod, moduleSpec, type ModuleState } from '@facmic/learning/plain';

/** Far above any module a federation trains (a D=1024 FACMIC module is 8.4 MB in float32). */
export const MAX_MODEL_FILE_BYTES = 64 * 1024 * 1024;

export interface ModelFile {
  /** The file's name, as the user chose it. */
  readonly name: string;
  readonly state: ModuleState;
}

export type ModelFileReading = { readonly ok: true; readonly model: ModelFile } | { readonly ok: false; readonly message: string };

/** Why a file is not this federation's model, in words. */
function reasonFor(error: unknown, federation: Pick<FederationConfig, 'module'>): string {
  const expected = `this federation’s ${getMethod(federation.module.kind).label} module with ${federation.module.featureDim} features`;
  if (error instanceof TensorEncodingError) {
    switch (error.code) {
      case 'BAD_WEIGHTS':
        return 'it is not a .fmst model file, or it is damaged (download it again from the dashboard).';
      case 'WEIGHTS_SHAPE_MISMATCH':
        return `it holds another model than ${expected} (a file of another federation?).`;
      case 'NON_FINITE_WEIGHTS':
        return 'its weights hold invalid numbers (NaN or infinity).';
      case 'PAYLOAD_TOO_LARGE':
        return 'it is far larger than any model file.';
    }
  }
  return `it could not be read (${error instanceof Error ? error.message : String(error)}).`;
}

/** Reads a `.fmst` file for this federation's module, or says why it cannot be used. */
export function readModelFile(name: string, bytes: Uint8Array, federation: Pick<FederationConfig, 'module'>): ModelFileReading {
  const expected = Object.fromEntries(moduleSpec(federation.module.kind, federation.module.featureDim).map((entry) => [entry.name, entry.shape]));
  try {
    const decoded = decodeTensors(bytes, { expected, maxBytes: MAX_MODEL_FILE_BYTES });
    return { ok: true, model: { name, state: decoded.tensors } };
  } catch (error) {
    return { ok: false, message: `${name} is not a model file of this federation: ${reasonFor(error, federation)}` };
  }
}
