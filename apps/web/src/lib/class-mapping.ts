/**
 * Mapping a hospital's folder names onto the federation's classes. The page suggests a mapping, the user confirms or
 * corrects it; a folder mapped to `null` is left out.
 */
import { normalizeName } from './folder-reading.ts';
import type { ClassFolder, PickedFile } from './folder-reading.ts';

/** Folder name → index into the federation's classes, or null to leave the folder out. */
export type ClassMapping = Readonly<Record<string, number | null>>;

/** Words that often decorate class folder names without changing the class. */
const FILLER_WORDS = ['tumour', 'tumor', 'images', 'image', 'class', 'cases', 'case', 'scans', 'scan'];

function stripFillers(normalized: string): string {
  let out = normalized;
  for (const word of FILLER_WORDS) out = out.split(word).join('');
  return out.length > 0 ? out : normalized;
}

export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The class a folder most likely holds, or null. Tries, in order: same name ignoring case and punctuation
 * (`Glioma_Tumor` = `glioma tumor`), same name without filler words (`glioma_tumor` = `glioma`), one name containing
 * the other, and a small spelling difference (`menigioma` = `meningioma`).
 */
export function suggestClass(folderName: string, classes: readonly string[]): number | null {
  const folder = normalizeName(folderName);
  const normalized = classes.map(normalizeName);
  const exact = normalized.indexOf(folder);
  if (exact >= 0) return exact;
  const stripped = stripFillers(folder);
  const strippedClasses = normalized.map(stripFillers);
  const strippedExact = strippedClasses.indexOf(stripped);
  if (strippedExact >= 0) return strippedExact;
  const containing = strippedClasses.findIndex((cls) => cls.length >= 3 && stripped.length >= 3 && (stripped.includes(cls) || cls.includes(stripped)));
  if (containing >= 0) return containing;
  let best: number | null = null;
  let bestDistance = Infinity;
  strippedClasses.forEach((cls, index) => {
    const distance = editDistance(stripped, cls);
    const allowed = Math.min(2, Math.floor(Math.min(stripped.length, cls.length) / 4));
    if (distance <= allowed && distance < bestDistance) {
      best = index;
      bestDistance = distance;
    }
  });
  return best;
}

/** A suggested mapping for every folder; two folders may map to the same class (they are merged). */
export function suggestClassMapping(folderNames: readonly string[], classes: readonly string[]): ClassMapping {
  const mapping: Record<string, number | null> = {};
  for (const name of folderNames) mapping[name] = suggestClass(name, classes);
  return mapping;
}

/** True when every folder maps onto a class by the same name (no mapping step needed). */
export function isIdentityMapping(mapping: ClassMapping, classes: readonly string[]): boolean {
  return Object.entries(mapping).every(([folder, index]) => index !== null && normalizeName(classes[index] ?? '') === normalizeName(folder));
}

export interface LabeledFile<F = unknown> extends PickedFile<F> {
  readonly label: number;
}

export interface MappedImages<F = unknown> {
  readonly files: readonly LabeledFile<F>[];
  /** Images per federation class, in the federation's class order. */
  readonly countsPerClass: readonly number[];
  /** Classes of the federation for which this hospital has no image (the site can still join; the user is told). */
  readonly missingClasses: readonly string[];
  /** Folders left out by the mapping and how many files they held. */
  readonly leftOut: readonly { readonly folder: string; readonly count: number }[];
}

export function applyClassMapping<F>(folders: readonly ClassFolder<F>[], mapping: ClassMapping, classes: readonly string[]): MappedImages<F> {
  const files: LabeledFile<F>[] = [];
  const countsPerClass = classes.map(() => 0);
  const leftOut: { folder: string; count: number }[] = [];
  for (const folder of folders) {
    const label = mapping[folder.name] ?? null;
    if (label === null || label < 0 || label >= classes.length) {
      leftOut.push({ folder: folder.name, count: folder.files.length });
      continue;
    }
    for (const file of folder.files) files.push({ ...file, label });
    countsPerClass[label] = (countsPerClass[label] ?? 0) + folder.files.length;
  }
  const missingClasses = classes.filter((_, index) => (countsPerClass[index] ?? 0) === 0);
  return { files, countsPerClass, missingClasses, leftOut };
}
