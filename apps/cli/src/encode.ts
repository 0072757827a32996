/**
 * npm run encode -- <folder> [--model M] [--dtype fp32|fp16|q8] [--host URL] [--out FILE] [--batch-size N] [--feature-cache DIR | --no-feature-cache]
 *
 * Encodes every image of a folder with the frozen CLIP (class-folder tree -> labels; `client_*` site folders are walked
 * too) into a features file (format: packages/encoder/src/feature-file.ts), with a progress bar on stderr and the list
 * of files that could not be decoded at the end. Features are cached by file content: a second run encodes nothing.
 * Only the vision tower (of the chosen dtype) is loaded.
 */
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CLIP_DTYPES, encodeFeatureFile, IMAGE_EXTENSIONS, type ClipDtype } from '@facmic/encoder';
import { findSiteFolders, scanImageFolder } from '@facmic/encoder/node';
import { createCliEncoder } from './data/cli-encoder.ts';
import { createProgressBar } from './data/progress.ts';

export const ENCODE_USAGE = `usage: npm run encode -- <folder> [options]
  --model M              CLIP: hub id, mirror URL, folder, or facmic-tiny-clip (the generated fixture);
                         default models/Xenova/clip-vit-base-patch16 when fetched, else the hub
  --dtype D              weights: fp32 (default), fp16 or q8 (the model's onnx/vision_model_quantized.onnx);
                         a federation's features must use the federation's dtype
  --host URL             hub address for a hub id
  --out FILE             features file to write (default <folder name>.features)
  --batch-size N         images per model run (default: adaptive, the first image alone, then about 2 s of work
                         a run, at most 8)
  --feature-cache DIR    feature cache folder (default .cache/facmic/features); --no-feature-cache to disable`;

class UsageError extends Error {}

interface Listed {
  readonly classNames: string[];
  readonly items: { path: string; relative: string; label: number }[];
  readonly skipped: readonly string[];
}

async function listFolder(folder: string): Promise<Listed> {
  const sites = await findSiteFolders(folder);
  if (!sites) {
    const scanned = await scanImageFolder(folder);
    return { classNames: [...scanned.classNames], items: [...scanned.items], skipped: scanned.skipped };
  }
  const scans = await Promise.all(sites.map((site) => scanImageFolder(site.path)));
  const classNames = [...new Set(scans.flatMap((s) => s.classNames))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const items = scans.flatMap((scan, k) =>
    scan.items.map((item) => ({
      path: item.path,
      relative: `${sites[k]?.name ?? ''}/${item.relative}`,
      label: item.label < 0 ? -1 : classNames.indexOf(scan.classNames[item.label] ?? ''),
    })),
  );
  return { classNames, items, skipped: scans.flatMap((s) => s.skipped) };
}

function percent(part: number, total: number): string {
  return total > 0 ? `${((100 * part) / total).toFixed(0)}%` : '-';
}

export async function main(argv: readonly string[]): Promise<number> {
  const log = (line: string) => {
    process.stderr.write(`${line}\n`);
  };
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      dtype: { type: 'string' },
      host: { type: 'string' },
      out: { type: 'string' },
      'batch-size': { type: 'string' },
      'feature-cache': { type: 'string' },
      'no-feature-cache': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    console.log(ENCODE_USAGE);
    return 0;
  }
  if (positionals.length !== 1 || positionals[0] === undefined) throw new UsageError('give exactly one folder to encode');
  const folder = path.resolve(positionals[0]);
  const batchSize = values['batch-size'] === undefined ? undefined : Number(values['batch-size']);
  if (batchSize !== undefined && !(Number.isInteger(batchSize) && batchSize > 0)) throw new UsageError(`--batch-size must be a positive integer, got "${values['batch-size'] ?? ''}"`);
  const out = path.resolve(values.out ?? `${path.basename(folder)}.features`);
  const dtype = values.dtype ?? 'fp32';
  if (!(CLIP_DTYPES as readonly string[]).includes(dtype)) throw new UsageError(`--dtype must be one of ${CLIP_DTYPES.join(', ')}, got "${dtype}"`);

  const isFolder = await stat(folder).then((st) => st.isDirectory(), () => false);
  if (!isFolder) throw new UsageError(`${folder} is not a folder`);
  const listed = await listFolder(folder);
  if (listed.items.length === 0) throw new UsageError(`no images (${IMAGE_EXTENSIONS.join(', ')}) under ${folder}`);
  if (listed.skipped.length > 0) log(`skipping ${listed.skipped.length} non-image files (e.g. ${listed.skipped[0] ?? ''})`);
  const encoder = await createCliEncoder({
    model: values.model,
    host: values.host,
    towers: ['vision'],
    dtype: dtype as ClipDtype,
    featureCache: values['no-feature-cache'] === true ? false : values['feature-cache'],
    batchSize,
    log,
  });
  try {
    const { info } = encoder;
    log(`encoder ${info.modelId} ${info.dtype} vision tower (${info.modelHash.slice(0, 12)}) on ${info.device}: ${info.deviceReason}`);
    log(`${listed.items.length} images, ${listed.classNames.length} classes${listed.classNames.length > 0 ? ` (${listed.classNames.join(', ')})` : ''}`);
    const bar = createProgressBar(process.stderr, 'encoding');
    const result = await encoder.encodeImages(
      listed.items.map((item) => ({ name: item.relative, source: item.path })),
      { onProgress: (p) => { bar.update(p); } },
    );
    bar.finish();

    const items = result.indices.map((index) => {
      const item = listed.items[index];
      if (!item) throw new Error(`internal: no item ${index}`);
      return { path: item.relative, label: item.label };
    });
    const bytes = encodeFeatureFile(
      {
        model: { id: info.modelId, hash: info.modelHash, source: info.source, device: info.device },
        dim: result.dim,
        count: items.length,
        classNames: listed.classNames,
        items,
        errors: result.errors.map((e) => ({ path: e.name, message: e.message })),
        createdAt: new Date().toISOString(),
      },
      result.features,
    );
    await mkdir(path.dirname(out), { recursive: true });
    const partial = `${out}.tmp-${process.pid}`;
    await writeFile(partial, bytes);
    await rename(partial, out);

    const t = result.timings;
    const seconds = t.totalMs / 1000;
    log(`wrote ${items.length} x ${result.dim} features to ${out}`);
    log(`${result.encoded} encoded, ${result.cached} from the cache, ${result.errors.length} failed; ${seconds.toFixed(1)} s, ${(listed.items.length / Math.max(seconds, 1e-9)).toFixed(1)} images/s`);
    log(`time: read+hash ${percent(t.readMs, t.totalMs)}, decode ${percent(t.decodeMs, t.totalMs)}, resize+crop ${percent(t.preprocessMs, t.totalMs)}, model ${percent(t.inferenceMs, t.totalMs)}`);
    if (result.errors.length > 0) {
      log(`files that could not be decoded (${result.errors.length}):`);
      for (const error of result.errors) log(`  ${error.name}: ${error.message}`);
    }
    return items.length > 0 ? 0 : 1;
  } finally {
    await encoder.dispose();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
      console.error(`${error.message}\n\n${ENCODE_USAGE}`);
      process.exitCode = 2;
    } else {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    }
  }
}
