/**
 * Finding images on disk. A class-folder tree (`<root>/<class>/**\/<image>`) gives labels from the class folder names;
 * a folder of sites (`<root>/client_0`, `client_1`, ...) holds one class-folder tree per site.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';

export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(['.png', '.jpg', '.jpeg', '.webp', '.gif', '.bmp', '.tif', '.tiff']);

export interface ImageFolderItem {
  /** Absolute path. */
  readonly path: string;
  /** Path relative to the scanned root, `/`-separated. */
  readonly relative: string;
  /** Class index into the folder's `classNames`; -1 for images outside class folders. */
  readonly label: number;
}

export interface ImageFolder {
  readonly root: string;
  /** Class folder names, sorted (the label order). Empty when the images are not in class folders. */
  readonly classNames: readonly string[];
  readonly items: readonly ImageFolderItem[];
  /** Files skipped because their extension is not an image one (reported, not silently dropped). */
  readonly skipped: readonly string[];
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

async function listImages(dir: string, root: string, skipped: string[]): Promise<string[]> {
  const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => !e.name.startsWith('.')).sort((a, b) => byName(a.name, b.name));
  const out: string[] = [];
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listImages(full, root, skipped)));
    else if (IMAGE_EXTENSIONS.has(path.extname(entry.name).toLowerCase())) out.push(full);
    else if (entry.isFile()) skipped.push(path.relative(root, full).split(path.sep).join('/'));
  }
  return out;
}

/** Scans a class-folder tree; with no subfolders, the images of `dir` itself are unlabelled (label -1). */
export async function scanImageFolder(dir: string): Promise<ImageFolder> {
  const root = path.resolve(dir);
  const entries = (await readdir(root, { withFileTypes: true })).filter((e) => !e.name.startsWith('.'));
  const classNames = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort(byName);
  const skipped: string[] = [];
  const items: ImageFolderItem[] = [];
  const relative = (p: string) => path.relative(root, p).split(path.sep).join('/');
  for (const file of entries.filter((e) => e.isFile()).map((e) => e.name).sort(byName)) {
    const full = path.join(root, file);
    if (IMAGE_EXTENSIONS.has(path.extname(file).toLowerCase())) items.push({ path: full, relative: relative(full), label: -1 });
    else skipped.push(file);
  }
  for (const [label, className] of classNames.entries()) {
    for (const file of await listImages(path.join(root, className), root, skipped)) items.push({ path: file, relative: relative(file), label });
  }
  if (classNames.length > 0 && items.some((item) => item.label === -1)) {
    throw new Error(`${root} mixes class folders with loose images (${items.filter((i) => i.label === -1).length}); move them into a class folder`);
  }
  return { root, classNames, items, skipped };
}

const SITE_FOLDER = /^client_(\d+)$/;

/** The `client_<k>` subfolders of `dir`, in numeric order, or undefined when it has none. */
export async function findSiteFolders(dir: string): Promise<{ name: string; path: string }[] | undefined> {
  const root = path.resolve(dir);
  const sites = (await readdir(root, { withFileTypes: true }))
    .filter((e) => e.isDirectory() && SITE_FOLDER.test(e.name))
    .map((e) => ({ name: e.name, path: path.join(root, e.name), index: Number(SITE_FOLDER.exec(e.name)?.[1]) }))
    .sort((a, b) => a.index - b.index);
  return sites.length > 0 ? sites.map(({ name, path: p }) => ({ name, path: p })) : undefined;
}
