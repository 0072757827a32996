/**
 * The one place that decides where things run. `detectCapabilities()` builds a frozen table of what this runtime can
 * do (once, cached); `chooseEncoderDevice` and `chooseTfjsBackend` are pure functions of that table and the caller's
 * request, returning the choice with the reason shown to the user. Nothing else in the project looks at `window`,
 * `navigator.gpu` or `process` to decide a backend.
 *
 * Policy:
 * - Encoder (ONNX Runtime): Node -> `cpu` (onnxruntime-node). Browser -> `webgpu` only on a real (non-fallback)
 *   adapter, otherwise `wasm`: a software adapter (SwiftShader) runs CLIP about 8x slower than WASM. Forcing `webgpu`
 *   is allowed on a fallback adapter (tests use it) but not without any adapter. Decide before the first model load:
 *   after a failed WebGPU load, later WASM loads in the same page fail too.
 * - Learning core (TensorFlow.js): Node -> `wasm` (tfjs-node cannot be installed; wasm is ~6x faster than cpu).
 *   Browser -> the first of {@link TFJS_FALLBACK_ORDER} that suits: `webgpu` on a real adapter, else `wasm`, else
 *   `webgl` on a hardware renderer, else `cpu`. The app imports and registers the chosen backend (this module never
 *   imports one) and, when it fails to start, falls back along the same order.
 */
import { platform } from '#platform';
import type { DeviceChoice, EncoderDevice, EncoderDeviceRequest, RuntimeKind, TfjsBackendName } from './types.ts';

export interface Capabilities {
  readonly runtime: RuntimeKind;
  readonly webgpu: {
    /** `navigator.gpu` exists (needs a secure context). */
    readonly api: boolean;
    /** What `requestAdapter()` gave: none, a software fallback (SwiftShader), or a hardware adapter. */
    readonly adapter: 'none' | 'fallback' | 'hardware';
    /** Vendor / architecture / description, for display. */
    readonly description: string;
  };
  readonly wasm: {
    readonly available: boolean;
    /** SharedArrayBuffer usable (cross-origin isolated page), so ONNX Runtime and tfjs can use threads. */
    readonly threads: boolean;
  };
  readonly webgl2: {
    readonly available: boolean;
    /** The renderer is a software one (SwiftShader, llvmpipe). */
    readonly software: boolean;
    readonly renderer: string;
  };
  readonly secureContext: boolean;
  /** Cache Storage (`caches`) usable: model files are kept across reloads. */
  readonly cacheStorage: boolean;
  readonly indexedDb: boolean;
  readonly hardwareConcurrency: number;
}

interface GpuAdapterLike {
  readonly isFallbackAdapter?: boolean;
  readonly info?: { readonly isFallbackAdapter?: boolean; readonly vendor?: string; readonly architecture?: string; readonly description?: string };
}

interface NavigatorLike {
  readonly gpu?: { requestAdapter(options?: { powerPreference?: string }): Promise<GpuAdapterLike | null> };
  readonly hardwareConcurrency?: number;
}

function detectRuntime(): RuntimeKind {
  const g = globalThis as { process?: { release?: { name?: string } }; window?: unknown; document?: unknown; WorkerGlobalScope?: unknown };
  if (g.process?.release?.name === 'node' && g.window === undefined) return 'node';
  if (g.window !== undefined && g.document !== undefined) return 'browser-window';
  return 'browser-worker';
}

async function detectWebGpu(nav: NavigatorLike | undefined): Promise<Capabilities['webgpu']> {
  if (!nav?.gpu) return { api: false, adapter: 'none', description: 'no WebGPU API' };
  try {
    const adapter = await nav.gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return { api: true, adapter: 'none', description: 'no WebGPU adapter' };
    const info = adapter.info;
    const fallback = info?.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false;
    const description = [info?.vendor, info?.architecture, info?.description].filter((s) => s).join(' ') || 'unknown adapter';
    return { api: true, adapter: fallback ? 'fallback' : 'hardware', description };
  } catch (error) {
    return { api: true, adapter: 'none', description: `requestAdapter failed: ${String(error)}` };
  }
}

const SOFTWARE_RENDERER = /swiftshader|llvmpipe|softpipe|software|basic render|mesa offscreen/i;

function detectWebGl2(): Capabilities['webgl2'] {
  const g = globalThis as { OffscreenCanvas?: new (w: number, h: number) => { getContext(kind: string): unknown } };
  if (!g.OffscreenCanvas) return { available: false, software: false, renderer: 'no OffscreenCanvas' };
  try {
    const gl = new g.OffscreenCanvas(1, 1).getContext('webgl2') as WebGL2RenderingContext | null;
    if (!gl) return { available: false, software: false, renderer: 'no WebGL2 context' };
    const debug = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(debug ? debug.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return { available: true, software: SOFTWARE_RENDERER.test(renderer), renderer };
  } catch (error) {
    return { available: false, software: false, renderer: `WebGL2 failed: ${String(error)}` };
  }
}

let detected: Promise<Capabilities> | undefined;

/** What this runtime can do. Detected once per page/process; the table is frozen. */
export function detectCapabilities(): Promise<Capabilities> {
  detected ??= (async () => {
    const runtime = detectRuntime();
    const g = globalThis as { navigator?: NavigatorLike; isSecureContext?: boolean; crossOriginIsolated?: boolean; caches?: unknown; indexedDB?: unknown; WebAssembly?: unknown; SharedArrayBuffer?: unknown };
    if (runtime === 'node') {
      return Object.freeze<Capabilities>({
        runtime,
        webgpu: Object.freeze({ api: false, adapter: 'none', description: 'Node: onnxruntime-node on CPU' }),
        wasm: Object.freeze({ available: g.WebAssembly !== undefined, threads: g.SharedArrayBuffer !== undefined }),
        webgl2: Object.freeze({ available: false, software: false, renderer: 'Node' }),
        secureContext: true,
        cacheStorage: false,
        indexedDb: false,
        hardwareConcurrency: platform.hardwareConcurrency(),
      });
    }
    const nav = g.navigator;
    return Object.freeze<Capabilities>({
      runtime,
      webgpu: Object.freeze(await detectWebGpu(nav)),
      wasm: Object.freeze({ available: g.WebAssembly !== undefined, threads: g.crossOriginIsolated === true && g.SharedArrayBuffer !== undefined }),
      webgl2: Object.freeze(detectWebGl2()),
      secureContext: g.isSecureContext === true,
      cacheStorage: g.caches !== undefined,
      indexedDb: g.indexedDB !== undefined,
      hardwareConcurrency: nav?.hardwareConcurrency ?? 1,
    });
  })();
  return detected;
}

/** Where the CLIP encoder runs. Throws when the request cannot be met (a forced device that is not there). */
export function chooseEncoderDevice(caps: Capabilities, request: EncoderDeviceRequest = 'auto'): DeviceChoice<EncoderDevice> {
  if (caps.runtime === 'node') {
    if (request === 'auto' || request === 'cpu') {
      return { choice: 'cpu', reason: 'Node: onnxruntime-node on the CPU', forced: request === 'cpu' };
    }
    throw new Error(`encoder device "${request}" is not available in Node; Node runs the encoder on "cpu" (onnxruntime-node)`);
  }
  if (request === 'cpu') throw new Error('encoder device "cpu" is Node only; in a browser use "wasm" or "webgpu"');
  if (request === 'webgpu') {
    if (caps.webgpu.adapter === 'none') throw new Error(`WebGPU was forced but is not available (${caps.webgpu.description})`);
    const note = caps.webgpu.adapter === 'fallback' ? ` on a software fallback adapter (${caps.webgpu.description}); expect it to be slower than WASM` : ` (${caps.webgpu.description})`;
    return { choice: 'webgpu', reason: `WebGPU forced${note}`, forced: true };
  }
  if (!caps.wasm.available) throw new Error('WebAssembly is not available in this browser; the encoder cannot run');
  const threads = caps.wasm.threads ? 'multi-threaded' : 'single-threaded (page not cross-origin isolated)';
  if (request === 'wasm') return { choice: 'wasm', reason: `WASM forced, ${threads}`, forced: true };
  if (caps.webgpu.adapter === 'hardware') {
    return { choice: 'webgpu', reason: `WebGPU on a hardware adapter (${caps.webgpu.description})`, forced: false };
  }
  const why =
    caps.webgpu.adapter === 'fallback'
      ? `the WebGPU adapter is a software fallback (${caps.webgpu.description}), slower than WASM`
      : !caps.webgpu.api
        ? caps.secureContext
          ? 'this browser has no WebGPU'
          : 'WebGPU needs a secure context (https or localhost)'
        : caps.webgpu.description;
  return { choice: 'wasm', reason: `WASM ${threads}: ${why}`, forced: false };
}

/**
 * The one order of tfjs backends in a browser, best first: what `chooseTfjsBackend` picks from and what the app falls
 * back along when the chosen backend fails to start.
 */
export const TFJS_FALLBACK_ORDER: readonly TfjsBackendName[] = ['webgpu', 'wasm', 'webgl', 'cpu'];

function tfjsAvailable(caps: Capabilities, backend: TfjsBackendName): boolean {
  switch (backend) {
    case 'webgpu':
      return caps.runtime !== 'node' && caps.webgpu.adapter !== 'none';
    case 'webgl':
      return caps.runtime !== 'node' && caps.webgl2.available;
    case 'wasm':
      return caps.wasm.available;
    case 'cpu':
      return true;
  }
}

/** Which tfjs backend the app should register for the learning core. Throws for a forced backend that is not there. */
export function chooseTfjsBackend(caps: Capabilities, request: 'auto' | TfjsBackendName = 'auto'): DeviceChoice<TfjsBackendName> {
  if (request !== 'auto') {
    if (!tfjsAvailable(caps, request)) throw new Error(`tfjs backend "${request}" was forced but is not available here`);
    return { choice: request, reason: `tfjs ${request} forced`, forced: true };
  }
  if (caps.runtime === 'node') {
    return caps.wasm.available
      ? { choice: 'wasm', reason: 'Node: tfjs wasm (tfjs-node is not installable; wasm beats cpu)', forced: false }
      : { choice: 'cpu', reason: 'Node without WebAssembly: tfjs cpu', forced: false };
  }
  const suits: Record<TfjsBackendName, boolean> = {
    webgpu: caps.webgpu.adapter === 'hardware',
    wasm: caps.wasm.available,
    webgl: caps.webgl2.available && !caps.webgl2.software,
    cpu: true,
  };
  const choice = TFJS_FALLBACK_ORDER.find((backend) => suits[backend]) ?? 'cpu';
  const reasons: Record<TfjsBackendName, () => string> = {
    webgpu: () => `WebGPU on a hardware adapter (${caps.webgpu.description})`,
    wasm: () => `tfjs wasm: ${caps.webgpu.adapter === 'fallback' ? 'the WebGPU adapter is a software fallback' : 'no WebGPU adapter'}`,
    webgl: () => `tfjs webgl on ${caps.webgl2.renderer} (no WebGPU adapter, no WebAssembly)`,
    cpu: () => 'no WebGPU, WebAssembly or hardware WebGL: tfjs cpu (slow)',
  };
  return { choice, reason: reasons[choice](), forced: false };
}

/** The execution settings both libraries want for threads in this runtime. */
export function recommendedThreads(caps: Capabilities): number {
  if (caps.runtime === 'node') return Math.max(1, caps.hardwareConcurrency);
  return caps.wasm.threads ? Math.max(1, Math.min(4, caps.hardwareConcurrency)) : 1;
}
