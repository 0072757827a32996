/** The demo federation created on a coordinator's first start, so the web app works out of the box. */
import { createFederationRequestSchema, type FederationSettings } from '@facmic/protocol';

export const DEMO_FEDERATION_ID = 'demo-brain-tumor';

/**
 * Brain-tumor-like: the 4 classes of the paper's brain tumor MRI data (folder names such as `glioma_tumor` match
 * them), generated reference and global test images, the paper's optimiser, 20 rounds, quorum 2.
 */
export const DEMO_FEDERATION: FederationSettings = createFederationRequestSchema.parse({
  name: 'Demo: brain tumor MRI',
  classNames: ['glioma tumor', 'meningioma tumor', 'no tumor', 'pituitary tumor'],
  method: 'facmic',
  rounds: 20,
  quorum: 2,
  roundDeadlineSeconds: 300,
  reference: { kind: 'generated', count: 64 },
  globalTest: { kind: 'generated', perClass: 10 },
});

/** Names of the invites created with the demo federation. */
export const DEMO_INVITE_NAMES = ['Hospital A', 'Hospital B', 'Hospital C'];
