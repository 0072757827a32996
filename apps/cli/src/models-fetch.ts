/**
 * npm run models:fetch -- <hub id> [--host URL] [--out models/] [--force]
 * npm run models:tiny [-- --out models/] [--seed N]          (= models:fetch --tiny)
 * npm run models:vit-b16-random [-- --out models/] [--seed N] (= models:fetch --vit-b16-random)
 *
 * Downloads the files transformers.js needs for a CLIP model into `<out>/<id>/` (a coordinator mirrors that folder at
 * `/models/`), with progress on stderr. Files are written whole (`.part` then rename) and an interrupted run resumes.
 * `--tiny` writes the generated `facmic-tiny-clip` fixture instead (no network); `--vit-b16-random` the generated
 * full-size `facmic-clip-vit-b16-random` (CLIP ViT-B/16 with random weights, 1.1 GB in all dtypes, about 20 s).
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_MODEL_ID, parseModelSource, TINY_CLIP_DEFAULT_SEED, TINY_CLIP_ID, VIT_CLIP_DEFAULT_SEED, VIT_CLIP_ID } from '@facmic/encoder';
import { ensureTinyClip, ensureVitClip, fetchModel, type DownloadProgress } from '@facmic/encoder/node';

export const MODELS_FETCH_USAGE = `usage: npm run models:fetch -- <hub id> [options]     (e.g. ${DEFAULT_MODEL_ID})
       npm run models:tiny [-- --out DIR] [--seed N]
       npm run models:vit-b16-random [-- --out DIR] [--seed N]
  --host URL    hub address (default https://huggingface.co/)
  --out DIR     models folder; files go to DIR/<id>/ (default models)
  --force       download again even when files are present
  --tiny        write the generated ${TINY_CLIP_ID} fixture instead (seeded, no network)
  --vit-b16-random
                write the generated ${VIT_CLIP_ID} (CLIP ViT-B/16 at real size, random weights,
                fp32 + fp16 + q8 files, 1.1 GB) instead (seeded, no network)
  --seed N      fixture seed (default ${TINY_CLIP_DEFAULT_SEED}; ${VIT_CLIP_DEFAULT_SEED} for --vit-b16-random)`;

class UsageError extends Error {}

function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

function progressPrinter(stream: NodeJS.WriteStream): (p: DownloadProgress) => void {
  let started = 0;
  let lastLine = 0;
  return (p) => {
    const now = performance.now();
    const name = `[${p.fileIndex + 1}/${p.fileCount}] ${p.file}`;
    if (p.phase === 'start') started = now;
    if (p.phase === 'present') stream.write(`${name}: already here (${megabytes(p.loadedBytes)} MB)\n`);
    if (p.phase === 'missing') stream.write(`${name}: not on the server (optional, skipped)\n`);
    if (p.phase === 'progress' && (now - lastLine > 500 || !stream.isTTY)) {
      if (!stream.isTTY && now - lastLine < 5000) return;
      lastLine = now;
      const rate = p.loadedBytes / Math.max((now - started) / 1000, 1e-3) / 1e6;
      const total = p.totalBytes > 0 ? `/${megabytes(p.totalBytes)}` : '';
      stream.write(`${stream.isTTY ? '\r' : ''}${name}: ${megabytes(p.loadedBytes)}${total} MB ${rate.toFixed(1)} MB/s${stream.isTTY ? '\u001b[K' : '\n'}`);
    }
    if (p.phase === 'done') stream.write(`${stream.isTTY ? '\r' : ''}${name}: ${megabytes(p.loadedBytes)} MB done${stream.isTTY ? '\u001b[K' : ''}\n`);
  };
}

export async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      host: { type: 'string' },
      out: { type: 'string' },
      force: { type: 'boolean' },
      tiny: { type: 'boolean' },
      'vit-b16-random': { type: 'boolean' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    console.log(MODELS_FETCH_USAGE);
    return 0;
  }
  const outDir = path.resolve(values.out ?? 'models');
  if (values['vit-b16-random'] === true) {
    if (positionals.length > 0 || values.tiny === true) throw new UsageError('--vit-b16-random takes no model id');
    const seed = values.seed === undefined ? VIT_CLIP_DEFAULT_SEED : Number(values.seed);
    if (!Number.isSafeInteger(seed)) throw new UsageError(`--seed must be an integer, got "${values.seed ?? ''}"`);
    const started = performance.now();
    const { dir, generated } = await ensureVitClip(path.join(outDir, VIT_CLIP_ID), { seed, onProgress: (m) => { process.stderr.write(`${m}\n`); } });
    console.log(`${generated ? `generated in ${((performance.now() - started) / 1000).toFixed(1)} s:` : 'up to date:'} ${dir}`);
    return 0;
  }
  if (values.tiny === true) {
    if (positionals.length > 0) throw new UsageError('--tiny takes no model id');
    const seed = values.seed === undefined ? TINY_CLIP_DEFAULT_SEED : Number(values.seed);
    if (!Number.isSafeInteger(seed)) throw new UsageError(`--seed must be an integer, got "${values.seed ?? ''}"`);
    const { dir, generated } = await ensureTinyClip(path.join(outDir, TINY_CLIP_ID), { seed });
    console.log(`${generated ? 'generated' : 'up to date:'} ${dir}`);
    return 0;
  }
  if (positionals.length !== 1 || positionals[0] === undefined) throw new UsageError('give one hub id');
  const source = parseModelSource(positionals[0], values.host !== undefined ? { host: values.host } : {});
  if (source.kind === 'folder') throw new UsageError(`${positionals[0]} is a folder, not a hub id or URL`);
  const result = await fetchModel({ source, outDir, force: values.force === true, onProgress: progressPrinter(process.stderr) });
  const downloaded = result.files.filter((f) => f.status === 'downloaded' || f.status === 'resumed');
  console.log(`${result.dir}: ${downloaded.length} downloaded, ${result.files.filter((f) => f.status === 'present').length} already present`);
  if (result.modelHash) console.log(`model hash ${result.modelHash}`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
      console.error(`${error.message}\n\n${MODELS_FETCH_USAGE}`);
      process.exitCode = 2;
    } else {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    }
  }
}
