/**
 * The encoder's identity: SHA-256 over the identity files' own SHA-256s, so Node (streaming hashes of files) and the
 * browser (digests of downloaded bytes) compute the same value and a federation can refuse a site whose encoder
 * differs.
 */
import { sha256HexOfText } from '../util/sha256.ts';
import { MODEL_IDENTITY_FILES, towerIdentityFiles, type ClipDtype, type ClipTower } from './source.ts';

function hashOfFiles(files: readonly string[], fileHashes: Readonly<Record<string, string>>): string {
  let text = '';
  for (const file of files) {
    const hash = fileHashes[file];
    if (!hash) throw new Error(`model hash: no hash for ${file}`);
    text += `${file} ${hash}\n`;
  }
  return sha256HexOfText(text);
}

/**
 * A tower's identity: `sha256("config.json <hex>\n<tower file> <hex>\n")`, e.g. for the hospital's vision tower in
 * q8 `onnx/vision_model_quantized.onnx`. Features depend on nothing else, so this is what a federation pins.
 */
export function towerHash(fileHashes: Readonly<Record<string, string>>, tower: ClipTower, dtype: ClipDtype): string {
  return hashOfFiles(towerIdentityFiles(tower, dtype), fileHashes);
}

/** `sha256("config.json <hex>\nonnx/text_model.onnx <hex>\nonnx/vision_model.onnx <hex>\n")`. */
export function combineModelHash(fileHashes: Readonly<Record<string, string>>): string {
  return hashOfFiles(MODEL_IDENTITY_FILES, fileHashes);
}
