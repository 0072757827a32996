/**
 * The one image-folder scanner on disk (the CLI's `encode` and `simulate --data`, the coordinator's reference and
 * global test folders, Node sites). It follows symbolic links to folders and files, visiting each real folder once so
 * that a link loop ends; hidden entries (`.name`) are left out; every other file that is not an image is reported.
 * Paths come sorted by name (code-unit order, the same on every machine).
 */
import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { isImagePath } from '../image/image-files.ts';

export interface ImageFile {
  /** Absolute path. */
  readonly path: string;
  /** Path relative to the scanned folder, `/`-separated. */
  readonly relative: string;
}

export interface ImageFileListing {
  readonly files: readonly ImageFile[];
  /** Files left out, relative: not images, or unreadable (a broken link). */
  readonly skipped: readonly string[];
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A directory entry's kind, through symbolic links (null: a broken link or something else). */
async function kindOf(dir: string, entry: Dirent): Promise<'file' | 'folder' | null> {
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'folder';
  if (!entry.isSymbolicLink()) return null;
  try {
    const target = await stat(path.join(dir, entry.name));
    return target.isDirectory() ? 'folder' : target.isFile() ? 'file' : null;
  } catch {
    return null;
  }
}

/** The visible entries of a folder with their kinds (links followed), sorted by name. */
async function entriesOf(dir: string): Promise<{ name: string; kind: 'file' | 'folder' | null }[]> {
  const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => !e.name.startsWith('.')).sort((a, b) => byName(a.name, b.name));
  return Promise.all(entries.map(async (entry) => ({ name: entry.name, kind: await kindOf(dir, entry) })));
}

/** Image files under `dir`, recursively. */
export async function listImageFiles(dir: string): Promise<ImageFileListing> {
  const root = path.resolve(dir);
  const files: ImageFile[] = [];
  const skipped: string[] = [];
  const visited = new Set<string>();
  const relative = (p: string) => path.relative(root, p).split(path.sep).join('/');
  const walk = async (folder: string): Promise<void> => {
    const real = await realpath(folder);
    if (visited.has(real)) return; // a link back to a folder already listed
    visited.add(real);
    for (const { name, kind } of await entriesOf(folder)) {
      const full = path.join(folder, name);
      if (kind === 'folder') await walk(full);
      else if (kind === 'file' && isImagePath(name)) files.push({ path: full, relative: relative(full) });
      else skipped.push(relative(full));
    }
  };
  await walk(root);
  return { files, skipped };
}

export interface ImageFolderItem extends ImageFile {
  /** Class index into the folder's `classNames`; -1 for images outside class folders. */
  readonly label: number;
}

export interface ImageFolder {
  readonly root: string;
  /** Class folder names, sorted (the label order). Empty when the images are not in class folders. */
  readonly classNames: readonly string[];
  readonly items: readonly ImageFolderItem[];
  /** Files skipped because they are not images (reported, not silently dropped). */
  readonly skipped: readonly string[];
}

/**
 * A class-folder tree (`<root>/<class>/**\/<image>`): labels from the class folder names. With no subfolders, the
 * images of `dir` itself are unlabelled (label -1); loose images beside class folders are refused.
 */
export async function scanImageFolder(dir: string): Promise<ImageFolder> {
  const root = path.resolve(dir);
  const classNames = (await entriesOf(root)).filter((e) => e.kind === 'folder').map((e) => e.name);
  const { files, skipped } = await listImageFiles(root);
  const items = files.map((file) => {
    const slash = file.relative.indexOf('/');
    return { ...file, label: slash < 0 ? -1 : classNames.indexOf(file.relative.slice(0, slash)) };
  });
  const loose = items.filter((item) => item.label === -1).length;
  if (classNames.length > 0 && loose > 0) throw new Error(`${root} mixes class folders with loose images (${loose}); move them into a class folder`);
  return { root, classNames, items, skipped };
}

const SITE_FOLDER = /^client_(\d+)$/;

/** The `client_<k>` subfolders of `dir` (links to folders count), in numeric order, or undefined when it has none. */
export async function findSiteFolders(dir: string): Promise<{ name: string; path: string }[] | undefined> {
  const root = path.resolve(dir);
  const sites = (await entriesOf(root))
    .filter((e) => e.kind === 'folder' && SITE_FOLDER.test(e.name))
    .map((e) => ({ name: e.name, path: path.join(root, e.name), index: Number(SITE_FOLDER.exec(e.name)?.[1]) }))
    .sort((a, b) => a.index - b.index);
  return sites.length > 0 ? sites.map(({ name, path: p }) => ({ name, path: p })) : undefined;
}
