/**
 * Reading a hospital's image folder: which files are images (the encoder's one extension list), which folder level
 * holds the classes, and which files are left out (with the reason, shown to the user). Pure functions over paths, so
 * they work the same for the folder picker (`webkitRelativePath`) and for a dropped folder (walked with the File
 * System Entry API).
 */
import { fileExtension, isImagePath } from '@facmic/encoder/image-files';

/** A file chosen by the user, identified by its path relative to the chosen folder (`root/class/image.png`). */
export interface PickedFile<F = unknown> {
  readonly path: string;
  readonly size: number;
  readonly file: F;
}

export interface IgnoredFile {
  readonly path: string;
  readonly reason: string;
}

export interface ClassFolder<F = unknown> {
  /** The folder name as it is on disk. */
  readonly name: string;
  readonly files: readonly PickedFile<F>[];
}

export interface FolderScan<F = unknown> {
  /** The top folder the user chose (empty when files were dropped loose). */
  readonly rootName: string;
  /** How many folders below the chosen one the class folders sit (0: directly inside it). */
  readonly classLevel: number;
  readonly folders: readonly ClassFolder<F>[];
  readonly ignored: readonly IgnoredFile[];
}

/** Splits a path into segments, ignoring empty ones and backslashes from other systems. */
export function pathSegments(path: string): string[] {
  return path.split(/[\\/]+/).filter((segment) => segment.length > 0);
}

/** A folder or class name reduced to what matters for matching: lower case letters and digits. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '');
}

function isHidden(segments: readonly string[]): boolean {
  return segments.some((segment) => segment.startsWith('.') || segment === '__MACOSX' || segment === 'Thumbs.db');
}

/**
 * The common first segment when every file sits under one top folder (what `<input webkitdirectory>` gives), or ''
 * when files come from several top folders or loose.
 */
export function commonRoot(paths: readonly string[]): string {
  let root: string | undefined;
  for (const path of paths) {
    const segments = pathSegments(path);
    if (segments.length < 2) return '';
    const first = segments[0] ?? '';
    if (root === undefined) root = first;
    else if (root !== first) return '';
  }
  return root ?? '';
}

/**
 * Picks the folder level that holds the classes: the level whose folder names match the most federation classes
 * (for example `Training/glioma/...` and `Testing/glioma/...` put classes one level down). Ties go to the shallower
 * level; with no match at all, the folders directly inside the chosen one are the classes.
 */
export function detectClassLevel(relativePaths: readonly string[][], classes: readonly string[], maxLevel = 2): number {
  const wanted = new Set(classes.map(normalizeName));
  let best = 0;
  let bestScore = -1;
  for (let level = 0; level <= maxLevel; level++) {
    const names = new Set<string>();
    for (const segments of relativePaths) {
      // A file must sit inside the class folder, so it needs at least level + 2 segments.
      const name = segments.length >= level + 2 ? segments[level] : undefined;
      if (name !== undefined) names.add(normalizeName(name));
    }
    let score = 0;
    for (const name of names) if (matchesAnyClass(name, wanted)) score++;
    if (score > bestScore) {
      best = level;
      bestScore = score;
    }
  }
  return bestScore > 0 ? best : 0;
}

function matchesAnyClass(normalizedFolder: string, normalizedClasses: ReadonlySet<string>): boolean {
  if (normalizedClasses.has(normalizedFolder)) return true;
  for (const cls of normalizedClasses) {
    if (cls.length >= 3 && (normalizedFolder.includes(cls) || cls.includes(normalizedFolder))) return true;
  }
  return false;
}

/**
 * Groups the chosen files by class folder. Files that are hidden, not images, empty, or not inside any class folder
 * are listed in `ignored` with a reason a clinician can act on.
 */
export function scanFolder<F>(files: readonly PickedFile<F>[], classes: readonly string[]): FolderScan<F> {
  const ignored: IgnoredFile[] = [];
  const candidates: { picked: PickedFile<F>; relative: string[] }[] = [];
  const rootName = commonRoot(files.map((f) => f.path));
  for (const picked of files) {
    const segments = pathSegments(picked.path);
    const relative = rootName === '' ? segments : segments.slice(1);
    if (isHidden(segments)) continue; // system files (.DS_Store, __MACOSX): not worth a line in the list
    if (!isImagePath(picked.path)) {
      const extension = fileExtension(picked.path);
      ignored.push({ path: picked.path, reason: extension === '' ? 'not an image (no file extension)' : `not an image (.${extension})` });
      continue;
    }
    if (picked.size === 0) {
      ignored.push({ path: picked.path, reason: 'empty file' });
      continue;
    }
    candidates.push({ picked, relative });
  }
  const classLevel = detectClassLevel(candidates.map((c) => c.relative), classes);
  const byFolder = new Map<string, PickedFile<F>[]>();
  for (const { picked, relative } of candidates) {
    if (relative.length < classLevel + 2) {
      ignored.push({ path: picked.path, reason: 'not inside a class folder' });
      continue;
    }
    const name = relative[classLevel] ?? '';
    const list = byFolder.get(name);
    if (list) list.push(picked);
    else byFolder.set(name, [picked]);
  }
  const folders = [...byFolder.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, list]) => ({ name, files: [...list].sort((a, b) => a.path.localeCompare(b.path)) }));
  return { rootName, classLevel, folders, ignored };
}
