// The kv suite: the immutable B-tree of @cafs/kv against in-process peers (a JS Map and raw
// memory-level, in a worker thread with its own heap) on one N-entry data set, default Tree options over a MemoryBlobStore.
import * as kvModule from '@cafs/kv';
import { MemoryBlobStore, Tree, compareBytes, equalBytes, type Edit, type Hash } from '@cafs/kv';
import { LevelPeer, pack } from './kv-level-peer.js';
import { UsageError, fmt, formatTable, gc, interleaved, loadAverage, median, progress, timeMs, type Row, BusyMeter, type SelfTimed } from './table.js';
import { Prng } from './prng.js';

const KEY_BYTES = 32;
const VALUE_BYTES = 64;

export interface KvConfig {
  entries: number;
  lookups: number;
  /**
   * Single puts per recorded round, the same for both contenders. Every round starts right
   * after a forced full GC (interleaved() calls gc()), and V8 finishes that collection's work
   * in the allocations that follow it: a round must be long enough not to be billed for it
   * (with 300 puts a round, ~50 ms, that cost about doubled the per-put figure). And a round
   * pays for the memory churn of the round before it: when memory-level ran 20,000 puts a
   * round, the cafs rounds after them measured 25-30 µs more per put than after 2,000.
   */
  putsPerRound: number;
  seed: number;
  /** Run memory-level in the main thread, sharing cafs's heap (default: a worker thread). */
  peerInline: boolean;
}

export const DEFAULT_KV_CONFIG: KvConfig = {
  entries: 1_000_000,
  lookups: 200_000,
  putsPerRound: 2_000,
  seed: 0xcaf5,
  peerInline: false,
};

// ---- deterministic data ----


/** N entries with distinct random keys, stored sorted in two flat buffers. */
class DataSet {
  readonly n: number;
  readonly keys: Uint8Array;
  readonly values: Uint8Array;

  constructor(n: number, rng: Prng) {
    this.n = n;
    const raw = rng.bytes(n * KEY_BYTES);
    // Sort indices on a 64-bit prefix, falling back to the whole key on ties.
    const dv = new DataView(raw.buffer);
    const p1 = new Uint32Array(n);
    const p2 = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      p1[i] = dv.getUint32(i * KEY_BYTES);
      p2[i] = dv.getUint32(i * KEY_BYTES + 4);
    }
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort(
      (x, y) =>
        p1[x]! - p1[y]! ||
        p2[x]! - p2[y]! ||
        compareBytes(raw.subarray(x * KEY_BYTES, (x + 1) * KEY_BYTES), raw.subarray(y * KEY_BYTES, (y + 1) * KEY_BYTES)),
    );
    this.keys = new Uint8Array(n * KEY_BYTES);
    for (let i = 0; i < n; i++) this.keys.set(raw.subarray(order[i]! * KEY_BYTES, (order[i]! + 1) * KEY_BYTES), i * KEY_BYTES);
    for (let i = 1; i < n; i++) {
      if (compareBytes(this.key(i - 1), this.key(i)) >= 0) throw new Error('bench data: duplicate random key');
    }
    this.values = rng.bytes(n * VALUE_BYTES);
  }

  key(i: number): Uint8Array {
    return this.keys.subarray(i * KEY_BYTES, (i + 1) * KEY_BYTES);
  }

  value(i: number): Uint8Array {
    return this.values.subarray(i * VALUE_BYTES, (i + 1) * VALUE_BYTES);
  }

  /** Key i as a latin1 string (the Map peer's key). */
  keyString(i: number): string {
    return Buffer.from(this.keys.buffer, this.keys.byteOffset + i * KEY_BYTES, KEY_BYTES).toString('latin1');
  }
}

/**
 * `count` new random keys. They are not checked against the data set: two 256-bit random keys
 * colliding is not a thing a bench needs to guard against.
 */
function freshKeys(rng: Prng, count: number): Uint8Array[] {
  const all = rng.bytes(count * KEY_BYTES);
  return Array.from({ length: count }, (_, i) => all.subarray(i * KEY_BYTES, (i + 1) * KEY_BYTES));
}

/**
 * `count` edits: 40% puts of new keys, 30% overwrites of existing keys, 30% deletes of existing
 * keys, in random order (the tree sorts them; memory-level takes them as they come).
 */
function randomEdits(data: DataSet, rng: Prng, count: number): Edit[] {
  const edits: Edit[] = [];
  const values = rng.bytes(count * VALUE_BYTES);
  const keys = rng.bytes(count * KEY_BYTES);
  for (let i = 0; i < count; i++) {
    const r = rng.below(10);
    const value = values.subarray(i * VALUE_BYTES, (i + 1) * VALUE_BYTES);
    if (r < 4) edits.push({ type: 'put', key: keys.subarray(i * KEY_BYTES, (i + 1) * KEY_BYTES), value });
    else if (r < 7) edits.push({ type: 'put', key: data.key(rng.below(data.n)), value });
    else edits.push({ type: 'del', key: data.key(rng.below(data.n)) });
  }
  return edits;
}

/** A batch of edits as the worker takes it: flat keys and values, a type byte each (1: put). */
function packEdits(edits: readonly Edit[]): Parameters<LevelPeer['send']>[0] {
  const types = new Uint8Array(edits.length);
  const values = new Uint8Array(edits.length * VALUE_BYTES);
  edits.forEach((e, i) => {
    if (e.type === 'put') {
      types[i] = 1;
      values.set(e.value, i * VALUE_BYTES);
    }
  });
  return { kind: 'batch', types, keys: pack(edits.map((e) => e.key), KEY_BYTES), keyBytes: KEY_BYTES, values, valueBytes: VALUE_BYTES };
}

/** Runs a peer command in the worker, checks how many entries it touched, and passes its time on. */
async function peerRound(db: LevelPeer, cmd: Parameters<LevelPeer['send']>[0], expect: number, what: string): Promise<SelfTimed> {
  const r = await db.send(cmd);
  check(r.count === expect, what);
  return { selfTimedMs: r.ms };
}

function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`bench self-check failed: ${what}`);
}

// ---- the suite ----

export function parseKvArgs(args: readonly string[]): KvConfig {
  const config = { ...DEFAULT_KV_CONFIG };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const m = /^--entries(?:=(.*))?$/.exec(a);
    if (m !== null) {
      const v = Number(m[1] ?? args[++i]);
      if (!Number.isInteger(v) || v < 1000) throw new UsageError(`kv: --entries wants an integer >= 1000, got ${m[1] ?? args[i]}`);
      config.entries = v;
      config.lookups = Math.min(DEFAULT_KV_CONFIG.lookups, v);
    } else if (a === '--peer-inline') {
      config.peerInline = true;
    } else {
      throw new UsageError(`kv: unknown option ${a} (known: --entries N, --peer-inline)`);
    }
  }
  return config;
}

/** What the measurements share: the data, the tree and database under test, the output. */
interface Ctx {
  cfg: KvConfig;
  N: number;
  rng: Prng;
  data: DataSet;
  tree: Tree;
  root: Hash;
  /** The memory-level peer, in a worker thread of its own (see kv-level-worker.ts). */
  db: LevelPeer;
  /** Nodes a bulk load of the data set writes. */
  buildWrites: number;
  rows: Row[];
  notes: string[];
}

/** 6. Bulk load; it also makes the tree and database the other measurements use. */
async function bulkLoad(cfg: KvConfig, rng: Prng, data: DataSet, rows: Row[], notes: string[]): Promise<Ctx> {
  const N = data.n;
  progress('bulk load: Tree.builder() vs memory-level batch');
  let tree!: Tree;
  let root!: Hash;
  const db = new LevelPeer(cfg.peerInline);
  await db.send({ kind: 'data', keys: data.keys, values: data.values, keyBytes: KEY_BYTES, valueBytes: VALUE_BYTES });
  let buildWrites = 0;
  const bulk = await interleaved(
    {
      tree: async () => {
        const t = new Tree(new MemoryBlobStore());
        const b = t.builder();
        for (let i = 0; i < N; i++) b.add(data.key(i), data.value(i));
        root = await b.finish();
        tree = t;
        buildWrites = t.stats.writes;
      },
      level: () => peerRound(db, { kind: 'load' }, N, 'memory-level loads every entry'),
    },
    3,
    0,
  );
  const t = median(bulk.tree!);
  const l = median(bulk.level!);
  rows.push({
    operation: `bulk load ${fmt.int(N)} sorted (builder add+finish)`,
    cafs: `${fmt.ms(t)} (${fmt.rate((N / t) * 1000)})`,
    peer: 'memory-level batch put',
    peerFigure: `${fmt.ms(l)} (${fmt.rate((N / l) * 1000)})`,
    ratio: t / l,
  });
  notes.push(`bulk load wrote ${fmt.int(buildWrites)} nodes (avg ${(N / buildWrites).toFixed(1)} entries per node incl. inner)`);
  return { cfg, N, rng, data, tree, root, db, buildWrites, rows, notes };
}

/** 1. Random get of existing keys: tree (cold, then warm) vs memory-level vs Map. */
async function gets(ctx: Ctx): Promise<void> {
  const { data, tree, root, db, N, rng } = ctx;
  // The Map and its string keys live only here, so later measurements do not carry their heap.
  progress('building the Map peer');
  const strings = Array.from({ length: N }, (_, i) => data.keyString(i));
  const map = new Map<string, Uint8Array>();
  const mapBuildMs = await timeMs(() => {
    for (let i = 0; i < N; i++) map.set(strings[i]!, data.value(i));
  });
  ctx.notes.push(`Map peer (latin1 string keys, strings made beforehand) took ${fmt.ms(mapBuildMs)} to fill`);

  const L = ctx.cfg.lookups;
  const lookupIdx = Array.from({ length: L }, () => rng.below(N));
  const lookupKeys = lookupIdx.map((i) => data.key(i));
  const lookupStrs = lookupIdx.map((i) => strings[i]!);
  const probe = lookupIdx[0]!;
  check(equalBytes((await tree.get(root, data.key(probe)))!, data.value(probe)), 'tree.get returns the value');
  check(equalBytes((await db.send({ kind: 'probe', key: data.key(probe) })).value!, data.value(probe)), 'memory-level get returns the value');
  const packedLookups = pack(lookupKeys, KEY_BYTES);

  const treeGets = async (t: Tree): Promise<void> => {
    let found = 0;
    for (let i = 0; i < L; i++) if ((await t.get(root, lookupKeys[i]!)) !== undefined) found++;
    check(found === L, 'every looked-up key found in the tree');
  };
  // Cold: a second Tree over the same store starts with an empty node cache, so its first
  // lookups fetch, verify (SHA-256) and decode nodes, whatever the builder left cached.
  progress(`get: first ${fmt.int(L)} lookups through a new Tree (empty node cache)`);
  gc();
  const coldTree = new Tree(tree.store);
  const coldMs = await timeMs(() => treeGets(coldTree));
  const coldFetches = coldTree.stats.fetches;

  progress(`get: ${fmt.int(L)} random lookups, tree vs memory-level vs Map`);
  const readsBefore = tree.stats.reads;
  const WARMUP = 1;
  const REPS = 5;
  const times = await interleaved(
    {
      tree: () => treeGets(tree),
      level: () => peerRound(db, { kind: 'get', keys: packedLookups, keyBytes: KEY_BYTES }, L, 'every looked-up key found in memory-level'),
      map: async () => {
        let found = 0;
        for (let i = 0; i < L; i++) if (map.get(lookupStrs[i]!) !== undefined) found++;
        check(found === L, 'every looked-up key found in the Map');
      },
    },
    REPS,
    WARMUP,
  );
  const readsPerGet = (tree.stats.reads - readsBefore) / ((WARMUP + REPS) * L);
  const t = (median(times.tree!) * 1000) / L;
  const l = (median(times.level!) * 1000) / L;
  const m = (median(times.map!) * 1000) / L;
  const cold = (coldMs * 1000) / L;
  ctx.rows.push(
    { operation: `get, cold cache (first ${fmt.int(L)}, new Tree)`, cafs: fmt.us(cold), peer: 'memory-level db.get', peerFigure: fmt.us(l), ratio: cold / l },
    {
      operation: `get, warm cache (${fmt.int(L)} random)`,
      cafs: fmt.us(t),
      peer: 'memory-level db.get',
      peerFigure: fmt.us(l),
      ratio: t / l,
      target: '<= 3x memory-level',
      met: t / l <= 3,
    },
    { operation: `get, warm cache (${fmt.int(L)} random)`, cafs: fmt.us(t), peer: 'Map (latin1 keys)', peerFigure: fmt.us(m), ratio: t / m },
  );
  ctx.notes.push(
    `get: the cold pass fetched+verified+decoded ${fmt.int(coldFetches)} nodes; warm gets read ${readsPerGet.toFixed(2)} cached nodes each (tree depth)`,
  );
}

/** 4. Full iteration: tree.entries and a bare Cursor loop vs the memory-level iterator. */
async function iterate(ctx: Ctx): Promise<void> {
  const { tree, root, db, N } = ctx;
  progress('iterate: tree.entries vs Cursor.next vs memory-level iterator');
  const times = await interleaved(
    {
      entries: async () => {
        let c = 0;
        for await (const e of tree.entries(root)) if (e.key.length === KEY_BYTES) c++;
        check(c === N, 'tree.entries yields every entry');
      },
      cursor: async () => {
        const cur = tree.cursor(root);
        let c = 0;
        for (let e = await cur.next(); e !== undefined; e = await cur.next()) if (e.key.length === KEY_BYTES) c++;
        check(c === N, 'cursor yields every entry');
      },
      level: () => peerRound(db, { kind: 'iterate' }, N, 'memory-level iterator yields every entry'),
    },
    3,
    1,
  );
  const l = median(times.level!);
  const peerFigure = `${fmt.ms(l)} (${fmt.rate((N / l) * 1000)})`;
  for (const [name, label] of [
    ['entries', 'tree.entries'],
    ['cursor', 'Cursor.next loop'],
  ] as const) {
    const t = median(times[name]!);
    ctx.rows.push({
      operation: `iterate ${fmt.int(N)} (${label})`,
      cafs: `${fmt.ms(t)} (${fmt.rate((N / t) * 1000)})`,
      peer: 'memory-level iterator',
      peerFigure,
      ratio: t / l,
    });
  }
}

/** 5. Diff of the tree against trees made from it by 10 random edits. */
async function diffs(ctx: Ctx): Promise<void> {
  const { tree, root, data, rng } = ctx;
  progress(`diff: ${fmt.int(ctx.N)}-entry trees differing in 10 keys`);
  const TREES = 20;
  const REPS = 5;
  const pairs: { right: Hash; changed: number }[] = [];
  for (let j = 0; j < TREES; j++) pairs.push({ right: await tree.mutate(root, randomEdits(data, rng, 10)), changed: 0 });
  const diffOnce = async (right: Hash): Promise<number> => {
    let c = 0;
    for await (const d of tree.diff(root, right)) if (d.key.length === KEY_BYTES) c++;
    return c;
  };
  for (const p of pairs) p.changed = await diffOnce(p.right); // warm-up, and the change counts
  const ms: number[] = [];
  const reads: number[] = [];
  let fetches = 0;
  for (let rep = 0; rep < REPS; rep++) {
    for (const p of pairs) {
      const r0 = tree.stats.reads;
      const f0 = tree.stats.fetches;
      let c = 0;
      ms.push(await timeMs(async () => (c = await diffOnce(p.right))));
      check(c === p.changed, 'diff is deterministic');
      reads.push(tree.stats.reads - r0);
      fetches += tree.stats.fetches - f0;
    }
  }
  const t = median(ms);
  ctx.rows.push({ operation: `diff, 10 edits apart (${median(reads)} node reads)`, cafs: fmt.ms(t), peer: '-', target: '< 5 ms', met: t < 5 });
  const changed = pairs.map((p) => p.changed);
  ctx.notes.push(
    `diff: ${TREES} right-hand trees x ${REPS} reps; ${Math.min(...changed)}-${Math.max(...changed)} entries differ per pair ` +
      `(10 random edits; a delete/overwrite may repeat a key); node reads median ${median(reads)}, max ${Math.max(...reads)}; ` +
      `store fetches ${fetches} (0: all nodes cached)`,
  );
}

/** 2. Single puts of new keys, each on the root the previous one returned. */
async function puts(ctx: Ctx): Promise<void> {
  const { tree, root, db, rng, cfg } = ctx;
  progress('put: chained single puts vs memory-level db.put');
  const WARMUP = 1;
  const REPS = 7;
  const treeKeys = freshKeys(rng, (WARMUP + REPS) * cfg.putsPerRound);
  const levelKeys = rng.bytes((WARMUP + REPS) * cfg.putsPerRound * KEY_BYTES);
  const value = rng.bytes(VALUE_BYTES);
  let chained = root;
  const w0 = tree.stats.writes;
  const times = await interleaved(
    {
      tree: async (round) => {
        const base = round * cfg.putsPerRound;
        for (let j = 0; j < cfg.putsPerRound; j++) chained = await tree.put(chained, treeKeys[base + j]!, value);
      },
      level: (round) => {
        const keys = levelKeys.subarray(round * cfg.putsPerRound * KEY_BYTES, (round + 1) * cfg.putsPerRound * KEY_BYTES);
        return peerRound(db, { kind: 'put', keys, keyBytes: KEY_BYTES, value }, cfg.putsPerRound, 'memory-level takes every put');
      },
    },
    REPS,
    WARMUP,
  );
  check(equalBytes((await tree.get(chained, treeKeys[0]!))!, value), 'chained puts are visible');
  const writesPerPut = (tree.stats.writes - w0) / ((WARMUP + REPS) * cfg.putsPerRound);
  const t = (median(times.tree!) * 1000) / cfg.putsPerRound;
  const l = (median(times.level!) * 1000) / cfg.putsPerRound;
  ctx.rows.push({
    operation: `put 1 new key, chained (${REPS}x${cfg.putsPerRound})`,
    cafs: fmt.us(t),
    peer: 'memory-level db.put',
    peerFigure: fmt.us(l),
    ratio: t / l,
    target: '< 100 µs (okra/LMDB 161)',
    met: t < 100,
  });
  ctx.notes.push(`put: ${writesPerPut.toFixed(2)} nodes written per single put`);
}

/** 3. Batch mutate of 10k and 100k random edits, each applied to the original root. */
async function mutates(ctx: Ctx): Promise<void> {
  const { tree, root, db, data, rng } = ctx;
  for (const [size, reps, target] of [
    [10_000, 5, undefined],
    [100_000, 3, 1000],
  ] as const) {
    progress(`mutate: ${fmt.int(size)} edits in one call vs memory-level batch`);
    // One edit set per round, made when the round's first contender asks for it (untimed: the
    // contenders time themselves below) and dropped after the round: four sets of 100k edit
    // objects held at once would be most of the heap every collection in the rounds marks.
    let current: { round: number; edits: Edit[] } | undefined;
    const setFor = (round: number): Edit[] => {
      if (current?.round !== round) current = { round, edits: randomEdits(data, rng, size) };
      return current.edits;
    };
    const results: Hash[] = [];
    let lastPut: Edit | undefined;
    const w = tree.stats.writes;
    const times = await interleaved(
      {
        tree: async (round): Promise<SelfTimed> => {
          const edits = setFor(round);
          lastPut = edits.findLast((e) => e.type === 'put');
          gc(); // the edits were just made: start from a collected heap, as the peer does
          const selfTimedMs = await timeMs(async () => {
            results[round] = await tree.mutate(root, edits);
          });
          return { selfTimedMs };
        },
        level: (round) => peerRound(db, packEdits(setFor(round)), size, 'memory-level applies every edit'),
      },
      reps,
      1,
    );
    current = undefined;
    check(lastPut !== undefined && (await tree.get(results[reps]!, lastPut.key)) !== undefined, 'a mutated tree holds a put key');
    const t = median(times.tree!);
    const l = median(times.level!);
    ctx.rows.push({
      operation: `mutate, ${fmt.int(size)} edits in one call`,
      cafs: `${fmt.ms(t)} (${fmt.us((t * 1000) / size)})`,
      peer: 'memory-level batch',
      peerFigure: `${fmt.ms(l)} (${fmt.us((l * 1000) / size)})`,
      ratio: t / l,
      target: target === undefined ? undefined : `< ${fmt.ms(target)}`,
      met: target === undefined ? undefined : t < target,
    });
    const written = (tree.stats.writes - w) / (reps + 1);
    ctx.notes.push(
      `mutate ${fmt.int(size)}: ${fmt.int(Math.round(written))} nodes written per call, ${((100 * written) / ctx.buildWrites).toFixed(0)}% of the ` +
        `${fmt.int(ctx.buildWrites)} a full bulk load writes (edits: 40% new keys, 30% overwrites, 30% deletes)`,
    );
  }
}

export async function runKv(args: readonly string[]): Promise<void> {
  const cfg = parseKvArgs(args);
  const N = cfg.entries;
  const rows: Row[] = [];
  const notes: string[] = [];
  const rng = new Prng(cfg.seed);
  const started = performance.now();
  const hashImpl = 'nodeSha256' in kvModule ? 'node:crypto' : 'portable (noble)';

  console.log(
    `kv suite: ${fmt.int(N)} entries, ${KEY_BYTES}-byte random keys, ${VALUE_BYTES}-byte values (seed ${cfg.seed}); ` +
      `default Tree options over MemoryBlobStore; sha256: ${hashImpl}`,
  );
  if (N !== DEFAULT_KV_CONFIG.entries) console.log(`NOTE: targets are stated for ${fmt.int(DEFAULT_KV_CONFIG.entries)} entries`);

  progress(`generating ${fmt.int(N)} sorted random entries`);
  const data = new DataSet(N, rng);
  const meter = new BusyMeter();
  const section = <T>(name: string, fn: () => Promise<T>): Promise<T> => meter.section(name, fn);
  const ctx = await section('bulk', () => bulkLoad(cfg, rng, data, rows, notes));
  await section('get', () => gets(ctx));
  await section('iterate', () => iterate(ctx));
  await section('diff', () => diffs(ctx));
  // The writes come last: they grow the peer database past N entries.
  gc();
  const heapMb = process.memoryUsage().heapUsed / 2 ** 20;
  await section('put', () => puts(ctx));
  await section('mutate', () => mutates(ctx));
  notes.push(`JS heap in use before the put/mutate rows: ${heapMb.toFixed(0)} MiB (data views, tree store and cache)`);
  notes.push(
    ctx.db.inline
      ? 'memory-level runs in the main thread (--peer-inline): one heap, so each side\'s collections also mark the other\'s objects'
      : 'memory-level runs in a worker thread, a V8 heap of its own (--peer-inline: in the main thread): neither side\'s GC marks the other\'s objects; each side times itself after a full GC',
  );
  const busyNote = meter.note();
  if (busyNote !== undefined) notes.push(busyNote);

  await ctx.db.close();
  await ctx.tree.store.close();

  console.log('');
  meter.warn();
  console.log(formatTable(rows));
  console.log('');
  console.log('ratio = cafs time / peer time (above 1: cafs slower). Medians of interleaved rounds after a warm-up round;');
  console.log("cache = the Tree's decoded-node LRU (default 256 MiB), warm unless stated.");
  for (const n of notes) console.log(`- ${n}`);
  console.log(`kv suite took ${fmt.ms(performance.now() - started)}; load average at end: ${loadAverage()}`);
}
