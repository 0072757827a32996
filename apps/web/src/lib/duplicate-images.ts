/**
 * Exact duplicate files in a hospital's folder (byte-identical images, as real data sets have them: the brain tumor
 * MRI `Testing` folder holds 80). A copy inside one class is the same image twice: it is prepared and used once (a
 * copy in both the training and the test images would also make the test look better than it is). The same image
 * filed under two classes is a data problem: its class is unclear, so it is left out and listed for the hospital to
 * fix. Pure functions: the page hashes the files (only those whose size another file shares) and passes the digests.
 */

import type { LabeledFile } from './class-mapping.ts';

export interface CopyOf {
  /** The copy, left out. */
  readonly path: string;
  /** The file kept in its place (first by path). */
  readonly keptPath: string;
}

export interface ImageInSeveralClasses {
  /** Every file holding the image, by path. */
  readonly paths: readonly string[];
  /** Their classes (indices, sorted). */
  readonly labels: readonly number[];
}

export interface DuplicateReport<F = unknown> {
  /** One file per distinct image of one class: what the hospital prepares. */
  readonly kept: readonly LabeledFile<F>[];
  /** Copies of a kept file inside its own class. */
  readonly copies: readonly CopyOf[];
  /** Images filed under more than one class: all their files are left out. */
  readonly inSeveralClasses: readonly ImageInSeveralClasses[];
}

/** The files whose content must be hashed: only files of the same size can be identical. */
export function filesToHash<F>(files: readonly LabeledFile<F>[]): LabeledFile<F>[] {
  const bySize = new Map<number, number>();
  for (const f of files) bySize.set(f.size, (bySize.get(f.size) ?? 0) + 1);
  return files.filter((f) => (bySize.get(f.size) ?? 0) > 1);
}

/**
 * Groups identical files (same size and digest; a file without a digest counts as distinct) into kept files,
 * copies within a class and images in several classes. Kept files keep the input order.
 */
export function findDuplicates<F>(files: readonly LabeledFile<F>[], digestOf: (path: string) => string | undefined): DuplicateReport<F> {
  const groups = new Map<string, LabeledFile<F>[]>();
  for (const f of files) {
    const digest = digestOf(f.path);
    if (digest === undefined) continue;
    const key = `${f.size}:${digest}`;
    const group = groups.get(key);
    if (group) group.push(f);
    else groups.set(key, [f]);
  }
  const dropped = new Set<string>();
  const copies: CopyOf[] = [];
  const inSeveralClasses: ImageInSeveralClasses[] = [];
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    const byPath = [...group].sort((a, b) => a.path.localeCompare(b.path));
    const labels = [...new Set(byPath.map((f) => f.label))].sort((a, b) => a - b);
    if (labels.length > 1) {
      inSeveralClasses.push({ paths: byPath.map((f) => f.path), labels });
      for (const f of byPath) dropped.add(f.path);
      continue;
    }
    const [kept, ...rest] = byPath;
    for (const f of rest) {
      copies.push({ path: f.path, keptPath: kept?.path ?? '' });
      dropped.add(f.path);
    }
  }
  copies.sort((a, b) => a.path.localeCompare(b.path));
  inSeveralClasses.sort((a, b) => (a.paths[0] ?? '').localeCompare(b.paths[0] ?? ''));
  return { kept: files.filter((f) => !dropped.has(f.path)), copies, inSeveralClasses };
}
