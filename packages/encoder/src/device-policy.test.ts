import { describe, expect, it } from 'vitest';
import { chooseEncoderDevice, chooseTfjsBackend, detectCapabilities, type Capabilities } from './device-policy.ts';

function browser(overrides: Partial<Capabilities> = {}): Capabilities {
  return {
    runtime: 'browser-worker',
    webgpu: { api: true, adapter: 'hardware', description: 'nvidia ampere' },
    wasm: { available: true, threads: false },
    webgl2: { available: true, software: false, renderer: 'ANGLE (NVIDIA)' },
    secureContext: true,
    cacheStorage: true,
    indexedDb: true,
    hardwareConcurrency: 8,
    ...overrides,
  };
}

const FALLBACK = { api: true, adapter: 'fallback', description: 'google swiftshader' } as const;
const NO_GPU = { api: false, adapter: 'none', description: 'no WebGPU API' } as const;

describe('device policy', () => {
  it('detects Node and runs the encoder on the CPU there, tfjs on wasm', async () => {
    const caps = await detectCapabilities();
    expect(caps.runtime).toBe('node');
    expect(Object.isFrozen(caps)).toBe(true);
    expect(chooseEncoderDevice(caps)).toMatchObject({ choice: 'cpu', forced: false });
    expect(chooseTfjsBackend(caps)).toMatchObject({ choice: 'wasm', forced: false });
    expect(() => chooseEncoderDevice(caps, 'webgpu')).toThrow(/not available in Node/);
  });

  it('uses WebGPU only on a real adapter', () => {
    expect(chooseEncoderDevice(browser())).toMatchObject({ choice: 'webgpu', forced: false });
    const fallback = chooseEncoderDevice(browser({ webgpu: FALLBACK }));
    expect(fallback.choice).toBe('wasm');
    expect(fallback.reason).toMatch(/software fallback/);
    expect(chooseEncoderDevice(browser({ webgpu: NO_GPU, secureContext: false })).reason).toMatch(/secure context/);
  });

  it('lets a caller force WebGPU on a fallback adapter, but not without an adapter', () => {
    const forced = chooseEncoderDevice(browser({ webgpu: FALLBACK }), 'webgpu');
    expect(forced).toMatchObject({ choice: 'webgpu', forced: true });
    expect(forced.reason).toMatch(/slower than WASM/);
    expect(() => chooseEncoderDevice(browser({ webgpu: NO_GPU }), 'webgpu')).toThrow(/not available/);
    expect(() => chooseEncoderDevice(browser(), 'cpu')).toThrow(/Node only/);
    expect(chooseEncoderDevice(browser(), 'wasm')).toMatchObject({ choice: 'wasm', forced: true });
  });

  it('picks the tfjs backend as data: webgpu, then wasm, then hardware webgl, then cpu', () => {
    expect(chooseTfjsBackend(browser()).choice).toBe('webgpu');
    expect(chooseTfjsBackend(browser({ webgpu: FALLBACK })).choice).toBe('wasm');
    const noWasm = { available: false, threads: false };
    expect(chooseTfjsBackend(browser({ webgpu: NO_GPU, wasm: noWasm })).choice).toBe('webgl');
    expect(chooseTfjsBackend(browser({ webgpu: NO_GPU, wasm: noWasm, webgl2: { available: true, software: true, renderer: 'SwiftShader' } })).choice).toBe('cpu');
    expect(chooseTfjsBackend(browser({ webgpu: FALLBACK }), 'webgl')).toMatchObject({ choice: 'webgl', forced: true });
    expect(() => chooseTfjsBackend(browser({ webgpu: NO_GPU }), 'webgpu')).toThrow(/not available/);
  });
});
