/**
 * The `simulate` flags of the image data source, parsed here so the simulate command only spreads them in.
 */
import { SimulationError } from '../simulation/index.ts';
import { createCliEncoder } from './cli-encoder.ts';
import { findSiteFolders } from '@facmic/encoder/node';
import { DEFAULT_PROMPT, PROMPT_NAMES, isPromptNames, loadImageData, type ImageData } from './image-data.ts';
import { parsePartition, type PartitionSpec } from './partition.ts';
import { createProgressBar } from './progress.ts';

export const IMAGE_DATA_FLAGS = {
  data: { type: 'string' },
  partition: { type: 'string' },
  model: { type: 'string' },
  host: { type: 'string' },
  prompt: { type: 'string' },
  'prompt-names': { type: 'string' },
  'feature-cache': { type: 'string' },
  'no-feature-cache': { type: 'boolean' },
} as const;

export const IMAGE_DATA_USAGE = `  --data DIR             real images: DIR/client_0..client_k (one class-folder tree per site), or one
                         class-folder tree split into --sites sites by --partition
  --partition P          iid | dirichlet:<alpha> (default dirichlet:0.5)
  --model M              CLIP: hub id, mirror URL, folder, or facmic-tiny-clip (default: models/Xenova/clip-vit-base-patch16
                         when fetched, else the hub; the generated fixture when the hub is unreachable)
  --host URL             hub address for a hub id (default https://huggingface.co/)
  --prompt T             class prompt, {class} = class folder name (default "${DEFAULT_PROMPT}")
  --prompt-names N       words: "glioma_tumor" enters the prompt as "glioma tumor" (default); raw: as is, as the
                         paper's code does ("a picture of a glioma_tumor"); real CLIP embeds the two differently
  --feature-cache DIR    feature cache folder (default .cache/facmic/features); --no-feature-cache to disable`;

export interface ImageDataFlagValues {
  readonly data?: string | undefined;
  readonly partition?: string | undefined;
  readonly model?: string | undefined;
  readonly host?: string | undefined;
  readonly prompt?: string | undefined;
  readonly 'prompt-names'?: string | undefined;
  readonly 'feature-cache'?: string | undefined;
  readonly 'no-feature-cache'?: boolean | undefined;
}

/**
 * Number of sites for `--data DIR`: its `client_*` folders when it has them (then `--sites`, if given, must agree),
 * else `--sites` (default 4) for the partition.
 */
export async function siteCountForData(dir: string, sitesFlag: string | undefined): Promise<number> {
  const requested = sitesFlag === undefined ? undefined : Number(sitesFlag);
  if (requested !== undefined && !(Number.isInteger(requested) && requested >= 2)) throw new SimulationError(`--sites must be an integer >= 2, got "${sitesFlag ?? ''}"`);
  let folders: Awaited<ReturnType<typeof findSiteFolders>>;
  try {
    folders = await findSiteFolders(dir);
  } catch (error) {
    throw new SimulationError(`--data ${dir}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!folders) return requested ?? 4;
  if (requested !== undefined && requested !== folders.length) {
    throw new SimulationError(`--data ${dir} has ${folders.length} site folders (client_*), but --sites is ${requested}`);
  }
  if (folders.length < 2) throw new SimulationError(`--data ${dir} has ${folders.length} site folder; a federation needs at least 2`);
  return folders.length;
}

/** Loads `--data` as simulation data (encoding with progress on stderr); the encoder is released afterwards. */
export async function imageDataFromFlags(values: ImageDataFlagValues & { data: string }, context: { sites: number; seed: number }): Promise<ImageData> {
  const log = (line: string) => {
    process.stderr.write(`${line}\n`);
  };
  let partition: PartitionSpec;
  try {
    partition = parsePartition(values.partition ?? 'dirichlet:0.5');
  } catch (error) {
    throw new SimulationError(error instanceof Error ? error.message : String(error));
  }
  const promptNames = values['prompt-names'] ?? 'words';
  if (!isPromptNames(promptNames)) throw new SimulationError(`--prompt-names must be ${PROMPT_NAMES.join(' or ')}, got "${promptNames}"`);
  const encoder = await createCliEncoder({
    model: values.model,
    host: values.host,
    featureCache: values['no-feature-cache'] === true ? false : values['feature-cache'],
    log,
  });
  log(`encoder ${encoder.info.modelId} (${encoder.info.modelHash.slice(0, 12)}) on ${encoder.info.device}: ${encoder.info.deviceReason}`);
  const bar = createProgressBar(process.stderr, 'encoding');
  try {
    const data = await loadImageData({
      dir: values.data,
      encoder,
      sites: context.sites,
      partition,
      seed: context.seed,
      ...(values.prompt !== undefined ? { promptTemplate: values.prompt } : {}),
      promptNames,
      onProgress: (p) => {
        bar.update(p);
      },
      log,
    });
    bar.finish();
    log(`features: ${data.encoded} encoded, ${data.cached} from the cache, ${data.errors.length} failed`);
    for (const error of data.errors) log(`  failed: ${error.path}: ${error.message}`);
    return data;
  } finally {
    await encoder.dispose();
  }
}
