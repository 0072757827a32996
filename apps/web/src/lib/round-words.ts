/** What a local round does, in words, from the federation's training settings (hospital page, dashboard). */
import type { TrainingSettings } from '@facmic/protocol';
import { countOf, formatCount } from './format.ts';

/** "199 steps of 32 images", "1 pass over the training images, in batches of 32", or both bounds. */
export function roundWork(training: Pick<TrainingSettings, 'stepsPerRound' | 'localEpochs' | 'batchSize'>, whose = 'the'): string {
  const { stepsPerRound, localEpochs, batchSize } = training;
  const passes = localEpochs === null ? null : `${countOf(localEpochs, 'pass', 'passes')} over ${whose} training images`;
  if (stepsPerRound === null) return `${passes ?? ''}, in batches of ${formatCount(batchSize)}`;
  const steps = `${countOf(stepsPerRound, 'step')} of ${countOf(batchSize, 'image')}`;
  return passes === null ? steps : `${steps}, or ${passes} if that comes first`;
}
