/**
 * The encoder's identity: SHA-256 over the identity files' own SHA-256s, so Node (streaming hashes of files) and the
 * browser (digests of downloaded bytes) compute the same value and a federation can refuse a site whose encoder
 * differs.
 */
import { sha256HexOfText } from '../util/sha256.ts';
import { MODEL_IDENTITY_FILES } from './source.ts';

/** `sha256("config.json <hex>\nonnx/text_model.onnx <hex>\nonnx/vision_model.onnx <hex>\n")`. */
export function combineModelHash(fileHashes: Readonly<Record<string, string>>): string {
  let text = '';
  for (const file of MODEL_IDENTITY_FILES) {
    const hash = fileHashes[file];
    if (!hash) throw new Error(`model hash: no hash for ${file}`);
    text += `${file} ${hash}\n`;
  }
  return sha256HexOfText(text);
}
