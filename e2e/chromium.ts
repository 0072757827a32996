/**
 * The system Chromium every browser test and benchmark launches (Playwright's own browser download cannot run
 * offline), with the flags that keep it quiet on a closed network and give WebGPU a (software) adapter on localhost.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--enable-unsafe-webgpu',
];
