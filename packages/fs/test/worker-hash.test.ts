// Hashing large writes' chunks on a worker thread (data/worker-hasher.ts) must give exactly the
// roots of hashing them on the calling thread, and must not leak: failures and aborts leave no
// slab out and no worker holding the process.
import { execFile } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { equalBytes, sha256, type Hash } from '@cafs/kv';
import { getChunkHasher, setChunkHasher, type ChunkHasher } from '../src/data/chunk-hasher.js';
import { WorkerChunkHasher } from '../src/data/worker-hasher.js';
import { decodeExtent } from '../src/extent.js';
import { hex, newFs } from './helpers.js';

const MiB = 1024 * 1024;

/** Fast deterministic bytes (AES-128-CTR keystream of a seed), with zero runs (holes) here and there. */
function content(n: number, seed: number, holes: number): Uint8Array {
  const key = Buffer.alloc(16);
  key.writeUInt32BE(seed >>> 0, 0);
  const out = new Uint8Array(n);
  out.set(createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(out));
  for (let k = 0; k < holes; k++) {
    const at = (Math.imul(seed + k, 2654435761) >>> 0) % n;
    out.fill(0, at, Math.min(n, at + 5 * 4096 + (k * 977) % 4096));
  }
  return out;
}

/** `bytes` in pieces of the given sizes (cycled), as an async stream. */
async function* pieces(bytes: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

async function withHasher<T>(hasher: ChunkHasher | undefined, run: () => Promise<T>): Promise<T> {
  const previous = setChunkHasher(hasher);
  try {
    return await run();
  } finally {
    setChunkHasher(previous);
  }
}

const worker = new WorkerChunkHasher();
afterAll(() => worker.close());

async function writeRoot(hasher: ChunkHasher | undefined, data: Uint8Array | AsyncIterable<Uint8Array>): Promise<{ root: Hash; fs: ReturnType<typeof newFs> }> {
  return withHasher(hasher, async () => {
    const fs = newFs();
    const root = await fs.writeFile(await fs.mkfs(), '/f', data);
    return { root, fs };
  });
}

describe('chunk hashing on a worker thread', () => {
  it('gives the same roots as hashing on this thread: whole buffers, streams, rewrites', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 8 * MiB + 1, max: 28 * MiB }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 0, max: 6 }),
        fc.array(fc.integer({ min: 1, max: 3 * MiB }), { minLength: 1, maxLength: 4 }),
        async (n, seed, holes, sizes) => {
          const data = content(n, seed, holes);
          const sync = await writeRoot(undefined, data);
          const viaWorker = await writeRoot(worker, data);
          expect(hex(viaWorker.root)).toBe(hex(sync.root));
          const streamed = await writeRoot(worker, pieces(data, sizes));
          expect(hex(streamed.root)).toBe(hex(sync.root));
          expect(equalBytes(await viaWorker.fs.readFile(viaWorker.root, '/f'), data)).toBe(true);
          // A write in the middle rewrites a few chunks; the whole file again must agree.
          const patch = content(3 * MiB, seed + 1, 0);
          const at = Math.floor(n / 3);
          const patched = data.slice();
          patched.set(patch.subarray(0, Math.min(patch.length, n - at)), at);
          const rewritten = await withHasher(worker, () => viaWorker.fs.write(viaWorker.root, '/f', at, patch.subarray(0, Math.min(patch.length, n - at))));
          const fresh = await writeRoot(undefined, patched);
          expect(hex(rewritten)).toBe(hex(fresh.root));
          expect(worker.pending).toBe(0);
        },
      ),
      { numRuns: 4 },
    );
  });

  it('a write of two slabs or more into a file hashes on the worker from its first byte: same roots', async () => {
    const base = content(3 * MiB, 11, 2);
    for (const [at, n] of [
      [0, 16 * MiB],
      [1234567, 17 * MiB + 4097],
      [3 * MiB, 20 * MiB],
    ] as const) {
      const patch = content(n, at + n, 3);
      const whole = new Uint8Array(Math.max(base.length, at + n));
      whole.set(base);
      whole.set(patch, at);
      let sent = 0;
      const spy: ChunkHasher = {
        hashSlab: (job) => {
          for (let i = 1; i < job.spans.length; i += 2) sent += job.spans[i]!;
          return worker.hashSlab(job);
        },
        allocateSlab: (size) => worker.allocateSlab(size),
      };
      const start = await writeRoot(undefined, base);
      const viaWorker = await withHasher(spy, () => start.fs.write(start.root, '/f', at, patch));
      const sync = await writeRoot(undefined, whole);
      expect(hex(viaWorker)).toBe(hex(sync.root));
      // The bytes went to the worker from the first slab on (not only past the first 8 MiB).
      expect(sent).toBeGreaterThan(n - MiB);
    }
  });

  it('uses the worker for large writes (slabs go out and come back)', async () => {
    const data = content(24 * MiB, 7, 0);
    const seen: number[] = [];
    const spy: ChunkHasher = {
      hashSlab: (job) => {
        seen.push(job.spans.length / 2);
        return worker.hashSlab(job);
      },
      allocateSlab: (size) => worker.allocateSlab(size),
    };
    const a = await writeRoot(spy, data);
    const b = await writeRoot(undefined, data);
    expect(hex(a.root)).toBe(hex(b.root));
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(worker.running).toBe(true);
  });

  it('stored chunks share slabs whose bytes outside every chunk are zeros (no stale memory)', async () => {
    const data = content(20 * MiB + 12345, 11, 2);
    const { fs, root } = await writeRoot(worker, data);
    const slabs = new Map<ArrayBufferLike, [number, number][]>();
    for await (const e of fs.tree.entries(root)) {
      if (e.key[e.key.length - 9] !== 0) continue; // info records (extent keys end in 0 + 8 bytes)
      const extent = decodeExtent(e.value);
      if (extent.ref === undefined) continue;
      const bytes = await fs.store.get(extent.ref);
      const list = slabs.get(bytes.buffer) ?? [];
      list.push([bytes.byteOffset, bytes.byteOffset + bytes.length]);
      slabs.set(bytes.buffer, list);
    }
    expect(slabs.size).toBeGreaterThanOrEqual(3);
    for (const [buffer, spans] of slabs) {
      const all = new Uint8Array(buffer);
      spans.sort((a, b) => a[0] - b[0]);
      let at = 0;
      for (const [from, to] of [...spans, [all.length, all.length] as [number, number]]) {
        for (let i = at; i < from; i++) if (all[i] !== 0) throw new Error(`slab byte ${i} outside the chunks is ${all[i]}`);
        at = Math.max(at, to);
      }
    }
  });

  it('reads hand back plain memory, never views of the shared slabs (Web Crypto refuses those)', async () => {
    const data = content(20 * MiB, 13, 0);
    const { fs, root } = await writeRoot(worker, data);
    // Reads inside one chunk (of a slab, past the first 8 MiB) are where a view would be handed out.
    for (const [at, length] of [[15 * MiB + 40000, 1], [15 * MiB + 40000, 1000], [19 * MiB, 3000]] as const) {
      const piece = await fs.read(root, '/f', { offset: at, length });
      expect(piece.buffer).toBeInstanceOf(ArrayBuffer);
      expect(equalBytes(piece, data.subarray(at, at + length))).toBe(true);
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', piece));
      expect(hex(digest)).toBe(hex(sha256(piece)));
    }
    expect((await fs.readFile(root, '/f')).buffer).toBeInstanceOf(ArrayBuffer);
  });

  it('a failing hasher fails the write, leaves the root alone and no rejection unhandled', async () => {
    const data = content(20 * MiB, 3, 0);
    const failing: ChunkHasher = { hashSlab: () => Promise.reject(new Error('hasher down')) };
    const fs = newFs();
    const root = await fs.mkfs();
    await withHasher(failing, async () => {
      await expect(fs.writeFile(root, '/f', data)).rejects.toThrow('hasher down');
      const throwing: ChunkHasher = {
        hashSlab: () => {
          throw new Error('hasher threw');
        },
      };
      setChunkHasher(throwing);
      await expect(fs.writeFile(root, '/f', data)).rejects.toThrow('hasher threw');
    });
    expect(await fs.exists(root, '/f')).toBe(false);
  });

  it('an aborted streamed write leaves no slab out', async () => {
    const data = content(40 * MiB, 5, 0);
    const controller = new AbortController();
    async function* slowly(): AsyncGenerator<Uint8Array> {
      for (let at = 0; at < data.length; at += MiB) {
        if (at === 24 * MiB) controller.abort();
        yield data.subarray(at, at + MiB);
      }
    }
    const fs = newFs();
    const root = await fs.mkfs();
    await withHasher(worker, async () => {
      await expect(fs.writeFile(root, '/f', slowly(), { signal: controller.signal })).rejects.toThrow(/abort/i);
    });
    for (let i = 0; i < 200 && worker.pending > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(worker.pending).toBe(0);
  });

  it('a closed worker hashes the shared slabs it held on this thread: the write still finishes, with the right root', async () => {
    const own = new WorkerChunkHasher();
    const data = content(30 * MiB, 11, 0);
    const fs = newFs();
    const root = await fs.mkfs();
    const sync = await writeRoot(undefined, data);
    await withHasher(own, async () => {
      const write = fs.writeFile(root, '/f', pieces(data, [4 * MiB]));
      // Let a slab or two go out, then close under them.
      await new Promise((r) => setTimeout(r, 0));
      await own.close();
      expect(hex(await write)).toBe(hex(sync.root));
      expect(own.pending).toBe(0);
      const again = await fs.writeFile(root, '/f', data);
      expect(hex(again)).toBe(hex(sync.root));
    });
    await own.close();
  });

  it('a closed worker fails the writes whose plain (transferred) slabs it held; the next write starts a new one', async () => {
    const own = new WorkerChunkHasher();
    const plain: ChunkHasher = { hashSlab: (job) => own.hashSlab(job), allocateSlab: (size) => new ArrayBuffer(size) };
    const data = content(30 * MiB, 12, 0);
    const fs = newFs();
    const root = await fs.mkfs();
    await withHasher(plain, async () => {
      const write = fs.writeFile(root, '/f', pieces(data, [4 * MiB])).then(
        () => 'finished', // it may have finished first
        (err: unknown) => String(err),
      );
      await new Promise((r) => setTimeout(r, 0));
      await own.close();
      expect(await write).toMatch(/finished|closed/);
      expect(own.pending).toBe(0);
      const again = await fs.writeFile(root, '/f', data);
      const sync = await writeRoot(undefined, data);
      expect(hex(again)).toBe(hex(sync.root));
    });
    await own.close();
  });

  it('shares its slabs with the worker (SharedArrayBuffers, never moved) and hands back the same buffer', async () => {
    const slab = worker.allocateSlab(8 * MiB);
    expect(slab).toBeInstanceOf(SharedArrayBuffer);
    const bytes = new Uint8Array(slab);
    bytes.set(content(MiB, 21, 0));
    const spans = Uint32Array.from([0, MiB, 4096, 5000]);
    const answer = await worker.hashSlab({ buffer: slab, spans });
    expect(answer.buffer).toBe(slab);
    expect(bytes.length).toBe(8 * MiB); // not detached
    expect(hex(answer.digests.subarray(0, 32))).toBe(hex(sha256(bytes.subarray(0, MiB))));
    expect(hex(answer.digests.subarray(32, 64))).toBe(hex(sha256(bytes.subarray(4096, 9096))));
    // The stock the worker pre-touches after an answer is shared too.
    await new Promise((r) => setTimeout(r, 50));
    expect(worker.allocateSlab(8 * MiB)).toBeInstanceOf(SharedArrayBuffer);
  });

  it('a process that wrote through the worker exits by itself, also after an abort', async () => {
    const entry = fileURLToPath(new URL('../dist/node.js', import.meta.url));
    const kv = fileURLToPath(new URL('../../kv/dist/node.js', import.meta.url));
    const script = `
      const { Fs, getChunkHasher } = await import(${JSON.stringify(entry)});
      const { MemoryBlobStore } = await import(${JSON.stringify(kv)});
      if (getChunkHasher() === undefined) throw new Error('no worker hasher under the node condition');
      const fs = new Fs(new MemoryBlobStore());
      const data = new Uint8Array(24 << 20);
      for (let i = 0; i < data.length; i += 4096) data[i] = (i >> 12) & 255 | 1;
      const root = await fs.writeFile(await fs.mkfs(), '/f', data);
      const ac = new AbortController();
      async function* gen() { for (let i = 0; i < 30; i++) { if (i === 20) ac.abort(); yield data.subarray(0, 1 << 20); } }
      await fs.writeFile(root, '/g', gen(), { signal: ac.signal }).catch(() => {});
      console.log('done', getChunkHasher().running);
    `;
    const started = Date.now();
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000 }, (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? -1), stdout, stderr });
      });
      child.stdin?.end();
    });
    expect(out.stderr).toBe('');
    expect(out.stdout.trim()).toBe('done true');
    expect(out.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(25_000);
  });

  it('is what the package installs under the node condition only', () => {
    // Tests import ../src/index.js (no node entry): nothing is installed there.
    expect(getChunkHasher()).toBeUndefined();
  });
});
