/**
 * Turning what the browser gives (a folder picked with `<input webkitdirectory>`, or a folder dropped on the page)
 * into `PickedFile`s with paths relative to the chosen folder.
 */
import type { PickedFile } from './folder-reading.ts';

/** Files from `<input type="file" webkitdirectory>`: each carries `webkitRelativePath` (`root/class/image.png`). */
export function filesFromInput(list: FileList | readonly File[]): PickedFile<File>[] {
  return Array.from(list, (file) => ({ path: file.webkitRelativePath || file.name, size: file.size, file }));
}

function readEntries(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  return new Promise((resolve, reject) => {
    reader.readEntries(resolve, reject);
  });
}

function entryFile(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => {
    entry.file(resolve, reject);
  });
}

async function walk(entry: FileSystemEntry, prefix: string, out: PickedFile<File>[], failures: string[]): Promise<void> {
  const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
  if (entry.isFile) {
    try {
      const file = await entryFile(entry as FileSystemFileEntry);
      out.push({ path, size: file.size, file });
    } catch {
      failures.push(path);
    }
    return;
  }
  if (!entry.isDirectory) return;
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  // readEntries returns at most 100 entries per call: read until it returns none.
  for (;;) {
    let batch: FileSystemEntry[];
    try {
      batch = await readEntries(reader);
    } catch {
      failures.push(path);
      return;
    }
    if (batch.length === 0) return;
    for (const child of batch) await walk(child, path, out, failures);
  }
}

/**
 * Files of the folders (or files) dropped on the page. Entries must be taken from the DataTransfer synchronously,
 * inside the drop handler; reading them can happen later.
 */
export function entriesFromDrop(transfer: DataTransfer): FileSystemEntry[] {
  const entries: FileSystemEntry[] = [];
  for (const item of Array.from(transfer.items)) {
    if (item.kind !== 'file') continue;
    const entry = item.webkitGetAsEntry();
    if (entry) entries.push(entry);
  }
  return entries;
}

export async function filesFromEntries(entries: readonly FileSystemEntry[]): Promise<{ files: PickedFile<File>[]; unreadable: string[] }> {
  const files: PickedFile<File>[] = [];
  const unreadable: string[] = [];
  for (const entry of entries) await walk(entry, '', files, unreadable);
  return { files, unreadable };
}
