/** SHA-256 of chosen files in the page, a few at a time, to find exact duplicates before anything is prepared. */
import { digestSha256Hex } from '@facmic/encoder';

export interface DigestProgress {
  readonly done: number;
  readonly total: number;
}

/** Digest of every file by its path; stops early (rejecting with the signal's reason) when `signal` aborts. */
export async function digestFiles(
  files: readonly { readonly path: string; readonly file: Blob }[],
  onProgress: (progress: DigestProgress) => void,
  signal: AbortSignal,
  concurrency = 4,
): Promise<Map<string, string>> {
  const digests = new Map<string, string>();
  let next = 0;
  let done = 0;
  onProgress({ done, total: files.length });
  const worker = async () => {
    while (next < files.length) {
      signal.throwIfAborted();
      const item = files[next++];
      if (!item) continue;
      // A file that cannot be read gets no digest: it counts as distinct, and encoding reports it as unreadable.
      const digest = await item.file.arrayBuffer().then((buffer) => digestSha256Hex(new Uint8Array(buffer)), () => null);
      if (digest !== null) digests.set(item.path, digest);
      done++;
      onProgress({ done, total: files.length });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, files.length)) }, worker));
  signal.throwIfAborted();
  return digests;
}
