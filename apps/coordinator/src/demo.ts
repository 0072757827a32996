/**
 * The demo federation: created on a coordinator's first start, so the web app works out of the box, and again as a
 * fresh run whenever an admin asks (`POST /api/demo/runs`); every run keeps its own id, rounds and models.
 */
import { createFederationRequestSchema, type FederationSettings } from '@facmic/protocol';

/** Id of the first demo run; later runs are `demo-brain-tumor-2`, `-3`, ... */
export const DEMO_FEDERATION_ID = 'demo-brain-tumor';

/**
 * Brain-tumor-like: the 4 classes of the paper's brain tumor MRI data (folder names such as `glioma_tumor` match
 * them), generated reference and global test images, the paper's optimiser, its local round (199 steps of 32 images)
 * and its 50 rounds, quorum 2 (a third hospital joins from the next round). Paced for people watching: a round lasts
 * at least 6 s even when every update is in sooner. A 199-step round took 15 to 132 s of Node WASM per site on a loaded
 * 2-core machine (issue 9's measurements), so a hospital that drops out holds a round up for 300 s at most, the
 * deadline leaving time for a slow tab rather than closing without it.
 */
export const DEMO_FEDERATION: FederationSettings = createFederationRequestSchema.parse({
  name: 'Demo: brain tumor MRI',
  classNames: ['glioma tumor', 'meningioma tumor', 'no tumor', 'pituitary tumor'],
  method: 'facmic',
  rounds: 50,
  quorum: 2,
  roundDeadlineSeconds: 300,
  minRoundSeconds: 6,
  reference: { kind: 'generated', count: 64 },
  globalTest: { kind: 'generated', perClass: 10 },
});

/** The demo hospitals every run gets (demo hospitals 0, 1 and 2: each generates its own images in its own look). */
export const DEMO_HOSPITAL_NAMES = ['Hospital A', 'Hospital B', 'Hospital C'];

/** Id of demo run `run` (1-based). */
export function demoRunId(run: number): string {
  return run === 1 ? DEMO_FEDERATION_ID : `${DEMO_FEDERATION_ID}-${run}`;
}

/** Settings of demo run `run`: the demo's, named after the run from the second on. */
export function demoRunSettings(run: number): FederationSettings {
  return run === 1 ? DEMO_FEDERATION : { ...DEMO_FEDERATION, name: `${DEMO_FEDERATION.name} (run ${run})` };
}
