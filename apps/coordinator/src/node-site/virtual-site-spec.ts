/** What the coordinator hands a virtual hospital's child process. */
import type { EncoderIdentity } from '@facmic/protocol';

export interface VirtualSiteSpec {
  coordinatorUrl: string;
  federationId: string;
  token: string;
  name: string;
  encoder: EncoderIdentity;
  /** Tensor file with the encoded local data ({@link VIRTUAL_DATA_TENSORS}). */
  dataFile: string;
  seed: number;
}

export const VIRTUAL_DATA_TENSORS = {
  trainFeatures: 'train_features',
  trainLabels: 'train_labels',
  testFeatures: 'test_features',
  testLabels: 'test_labels',
} as const;
