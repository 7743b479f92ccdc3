// sfc32, seeded by splitmix32: a small, fast, deterministic PRNG for the benches' data sets.
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const splitmix = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = splitmix();
    this.b = splitmix();
    this.c = splitmix();
    this.d = splitmix();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 2 ** 32;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Log-uniform in [lo, hi]: many small values, a few large ones, as file sizes are. */
  logUniform(lo: number, hi: number): number {
    return Math.round(lo * Math.exp(this.next() * Math.log(hi / lo)));
  }

  /** `n` random bytes. */
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe((n + 3) & ~3);
    const w = new Uint32Array(b.buffer, b.byteOffset, b.length / 4);
    for (let i = 0; i < w.length; i++) w[i] = this.u32();
    return b.subarray(0, n);
  }
}
