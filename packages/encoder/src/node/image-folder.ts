/**
 * Writes generated images as a class-folder tree: `<dir>/<class>/<site>-<index>.png|jpg`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import sharp from 'sharp';
import { generateImages, type GenerateImagesOptions } from '../generated-images.ts';

export interface GenerateImageFolderOptions extends GenerateImagesOptions {
  /** File format: all PNG, all JPEG, or alternating (default 'png'). */
  readonly format?: 'png' | 'jpeg' | 'mixed';
}

export interface GeneratedFile {
  readonly path: string;
  readonly label: number;
  readonly className: string;
}

export async function generateImageFolder(dir: string, options: GenerateImageFolderOptions = {}): Promise<GeneratedFile[]> {
  const root = resolve(dir);
  const format = options.format ?? 'png';
  const out: GeneratedFile[] = [];
  let i = 0;
  for (const generated of generateImages(options)) {
    const jpeg = format === 'jpeg' || (format === 'mixed' && i % 2 === 1);
    i++;
    const path = join(root, `${generated.name}.${jpeg ? 'jpg' : 'png'}`);
    const { width, height, data } = generated.image;
    const image = sharp(Buffer.from(data.buffer, data.byteOffset, data.length), { raw: { width, height, channels: 4 } }).removeAlpha();
    const bytes = jpeg ? await image.jpeg({ quality: 92 }).toBuffer() : await image.png({ compressionLevel: 6 }).toBuffer();
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes);
    out.push({ path, label: generated.label, className: generated.className });
  }
  return out;
}
