// The store benchmark: put/get ops/s and MB/s for memory, LevelDB and a Redis Cluster (pipelined
// batches and one command per round trip), and importing a tree onto the cluster.
// `runStoreBench(args)` fits @cafs/bench's suite table; `node dist/bench.js [options]` runs it alone.
// Options: --count-1k N (default 20000), --count-64k N (default 1000), --import-mib N (default 64).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { LevelBlobStore, MemoryBlobStore, type BlobStore, type Hash } from '@cafs/kv';
import { Repo } from '@cafs/repo';
import { RedisBlobStore } from './blob-store.js';
import { RedisConnection } from './connection.js';
import { RedisNameStore } from './names.js';
import { startRedisCluster } from './testing/cluster.js';

function option(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} takes a positive number`);
  return v;
}

interface Row {
  store: string;
  size: string;
  mode: string;
  putOps: number;
  putMBs: number;
  getOps: number;
  getMBs: number;
}

async function measure(store: BlobStore, blobs: Uint8Array[], batch: number): Promise<{ put: number; get: number }> {
  const hashes: Hash[] = [];
  let t0 = performance.now();
  if (batch <= 1) for (const b of blobs) hashes.push(await store.put(b));
  else for (let i = 0; i < blobs.length; i += batch) hashes.push(...(await store.putMany(blobs.slice(i, i + batch))));
  const put = performance.now() - t0;
  t0 = performance.now();
  if (batch <= 1) for (const h of hashes) await store.get(h);
  else {
    // Reads in flight together (the interface has no getMany): ioredis pipelines them per master.
    for (let i = 0; i < hashes.length; i += batch) await Promise.all(hashes.slice(i, i + batch).map((h) => store.get(h)));
  }
  const get = performance.now() - t0;
  return { put, get };
}

export async function runStoreBench(args: readonly string[] = []): Promise<void> {
  const counts = { '1 KiB': option(args, '--count-1k', 20_000), '64 KiB': option(args, '--count-64k', 1000) };
  const sizes = { '1 KiB': 1024, '64 KiB': 64 * 1024 };
  const importMiB = option(args, '--import-mib', 64);
  const cluster = await startRedisCluster();
  const dir = await mkdtemp(join(tmpdir(), 'cafs-bench-store-'));
  const connection = (await RedisConnection.connect(cluster.url)).acquire();
  const rows: Row[] = [];
  let n = 0;
  try {
    const stores: { name: string; modes: [string, number][]; open: () => Promise<BlobStore> }[] = [
      { name: 'memory', modes: [['batch 256', 256]], open: async () => new MemoryBlobStore() },
      { name: 'LevelDB', modes: [['batch 256', 256]], open: async () => LevelBlobStore.open(join(dir, `level${++n}`)) },
      {
        name: 'Redis Cluster (3 masters)',
        modes: [
          ['pipelined, batch 256', 256],
          ['one per round trip', 1],
        ],
        open: async () => new RedisBlobStore(connection, { prefix: `bench${++n}:` }),
      },
    ];
    for (const [label, size] of Object.entries(sizes) as [keyof typeof sizes, number][]) {
      const count = counts[label];
      const blobs = Array.from({ length: count }, () => randomBytes(size) as Uint8Array);
      const mb = (count * size) / 1e6;
      for (const s of stores) {
        for (const [mode, batch] of s.modes) {
          const store = await s.open();
          await measure(store, blobs.slice(0, 300), batch); // warm-up (JIT, connections)
          const { put, get } = await measure(store, batch === 1 ? blobs.slice(0, Math.min(count, 5000)) : blobs, batch);
          const k = batch === 1 ? Math.min(count, 5000) / count : 1;
          rows.push({
            store: s.name,
            size: label,
            mode,
            putOps: (count * k) / (put / 1000),
            putMBs: (mb * k) / (put / 1000),
            getOps: (count * k) / (get / 1000),
            getMBs: (mb * k) / (get / 1000),
          });
          const all: Hash[] = [];
          for await (const h of store.hashes()) all.push(h);
          await store.delete(all);
          await store.close();
        }
      }
    }
    const header = ['store', 'blob', 'mode', 'put ops/s', 'put MB/s', 'get ops/s', 'get MB/s'];
    const table = rows.map((r) => [r.store, r.size, r.mode, r.putOps.toFixed(0), r.putMBs.toFixed(1), r.getOps.toFixed(0), r.getMBs.toFixed(1)]);
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
    const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
    console.log(line(header));
    console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
    for (const r of table) console.log(line(r));

    // Import a tree of 1 MiB files onto the cluster (blobs and names on Redis).
    const repo = new Repo({ store: new RedisBlobStore(connection, { prefix: 'bench-import:' }), names: new RedisNameStore(connection, { prefix: 'bench-import:' }) });
    await repo.init();
    let root = (await repo.resolve('main')).root;
    const file = randomBytes(1024 * 1024);
    const t0 = performance.now();
    for (let i = 0; i < importMiB; i++) {
      file.writeUInt32LE(i, 0); // distinct files
      root = await repo.fs.writeFile(root, `/file${i}`, file);
    }
    await repo.commit('main', root, 'import');
    const s = (performance.now() - t0) / 1000;
    console.log(`import of a ${importMiB} MiB tree (${importMiB} files of 1 MiB) onto the cluster: ${s.toFixed(2)} s, ${((importMiB * 1.048576) / s).toFixed(1)} MB/s`);
    await repo.close();
  } finally {
    await connection.release();
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runStoreBench(process.argv.slice(2)).catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
