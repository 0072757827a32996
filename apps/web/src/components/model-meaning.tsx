import type { CoordinatorInfo } from '@facmic/protocol';
import { Badge } from './ui.tsx';

type EncoderInfo = CoordinatorInfo['encoder'];

/** A badge naming the kind of image model: the generated test model, the paper's CLIP, or the admin's choice. */
export function ModelBadge({ encoder }: { encoder: EncoderInfo }) {
  if (encoder.source === 'tiny') return <Badge tone="warn">test model</Badge>;
  if (encoder.source === 'mirror') return <Badge tone="ok">the paper’s CLIP</Badge>;
  return <Badge>chosen by the admin</Badge>;
}

/** What the coordinator's image model means for accuracy, in plain words, for admins and demo givers. */
export function ModelMeaning({ encoder }: { encoder: EncoderInfo }) {
  if (encoder.source === 'tiny') {
    return (
      <>
        A tiny CLIP with random weights, generated because no real model was found: everything runs, but accuracy numbers mean nothing. <code>npm run models:fetch</code> gets the
        paper’s CLIP.
      </>
    );
  }
  if (encoder.source === 'mirror') return <>CLIP ViT-B/16 from this coordinator’s mirror, as in the paper: accuracy is meaningful.</>;
  return <>The model named by the coordinator’s settings (FACMIC_MODEL).</>;
}

/** The same for a clinician: one sentence, no commands (those are in the page's technical details, for the admin). */
export function modelMeaningForClinicians(source: EncoderInfo['source']): string {
  if (source === 'tiny') return 'A test model with random weights: everything runs, but its results mean nothing.';
  if (source === 'mirror') return 'CLIP ViT-B/16, the image model of the FACMIC paper.';
  return 'The image model chosen by the coordinator’s admin.';
}
