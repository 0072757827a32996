/**
 * The project's one seeded pseudo-random generator (mulberry32 over a splitmix32-mixed seed), used for splits, batch
 * streams, initialisation, synthetic data, the generated demo images and the generated tiny CLIP. Integer arithmetic
 * only for the uniform stream, so shuffles and the torch-style uniform initialisation are bit-identical on every
 * JavaScript engine. `normal()` uses Math.log/Math.cos and is only reproducible within one engine family (synthetic
 * data); `irwinHallNormal()` uses additions only and is the same everywhere (generated model weights and images).
 */

/** FNV-1a over the UTF-16 code units of `text`: a text seed (a hospital's name, a file's label) as 32 bits. */
export function textSeed(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function mix32(value: number): number {
  let z = (value + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class SeededRandom {
  private state: number;
  private spareNormal: number | null = null;

  /** `seed` is any safe integer; both its low and high 32 bits enter the state. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${String(seed)}`);
    const low = seed >>> 0;
    const high = Math.floor(seed / 0x100000000) >>> 0;
    this.state = mix32(low ^ mix32(high));
  }

  /** A generator seeded by a text (through `textSeed`). */
  static fromText(text: string): SeededRandom {
    return new SeededRandom(textSeed(text));
  }

  /** Next unsigned 32-bit integer. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1), a multiple of 2^-32 (exact in float64). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** Integer in [0, n). */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`nextInt needs a positive integer, got ${n}`);
    return Math.floor(this.next() * n);
  }

  /** Standard normal sample (Box-Muller). */
  normal(): number {
    if (this.spareNormal !== null) {
      const spare = this.spareNormal;
      this.spareNormal = null;
      return spare;
    }
    let u = this.next();
    while (u === 0) u = this.next();
    const v = this.next();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  }

  /**
   * Approximately standard normal, with additions and one multiplication only (Irwin-Hall sum of 6 uniforms,
   * rescaled), so it is bit-identical on every engine; tails are cut at +-4.24.
   */
  irwinHallNormal(): number {
    let sum = 0;
    for (let i = 0; i < 6; i++) sum += this.next();
    // Irwin-Hall(6) has mean 3 and variance 1/2.
    return (sum - 3) * Math.SQRT2;
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T extends { length: number; [index: number]: unknown }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** A shuffled 0..n-1. */
  permutation(n: number): Int32Array {
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    return this.shuffle(order);
  }

  /** An independent generator derived from this one's next output and a label. */
  fork(label = 0): SeededRandom {
    return new SeededRandom((this.nextUint32() ^ mix32(label)) >>> 0);
  }
}
