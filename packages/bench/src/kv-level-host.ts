// The memory-level peer of the kv suite: one database and the commands the suite times on it.
// It runs in a worker thread (kv-level-worker.ts) or, with --peer-inline, in the main thread.
import { MemoryLevel } from 'memory-level';
import type { LevelCommand, LevelControl, LevelReply } from './kv-level-peer.js';
import { gc } from './table.js';

type Level = MemoryLevel<Uint8Array, Uint8Array>;

const newLevel = (): Level => new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view', storeEncoding: 'view' });

/** Views of `width`-byte records in a flat buffer. */
function records(flat: Uint8Array, width: number): Uint8Array[] {
  return Array.from({ length: flat.length / width }, (_, i) => flat.subarray(i * width, (i + 1) * width));
}

export class LevelHost {
  private db: Level | undefined;
  private keys: Uint8Array[] = [];
  private values: Uint8Array[] = [];

  async handle(cmd: LevelCommand | LevelControl): Promise<LevelReply> {
    switch (cmd.kind) {
      case 'data':
        this.keys = records(cmd.keys, cmd.keyBytes);
        this.values = records(cmd.values, cmd.valueBytes);
        return { ms: 0 };
      case 'probe':
        return { ms: 0, value: await this.db!.get(cmd.key) };
      case 'close':
        await this.db?.close();
        return { ms: 0 };
      default:
        return this.run(cmd);
    }
  }

  /** A timed command: inputs are unpacked, then a full GC, then the clock starts. */
  private async run(cmd: LevelCommand): Promise<LevelReply> {
    const db = this.db;
    const getKeys = cmd.kind === 'get' || cmd.kind === 'put' ? records(cmd.keys, cmd.keyBytes) : [];
    const ops: ({ type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array })[] = [];
    if (cmd.kind === 'batch') {
      const ks = records(cmd.keys, cmd.keyBytes);
      const vs = records(cmd.values, cmd.valueBytes);
      for (let i = 0; i < ks.length; i++) ops.push(cmd.types[i] === 1 ? { type: 'put', key: ks[i]!, value: vs[i]! } : { type: 'del', key: ks[i]! });
    }
    const loadOps = cmd.kind === 'load' ? this.keys.map((key, i) => ({ type: 'put' as const, key, value: this.values[i]! })) : [];
    gc();
    const t0 = performance.now();
    const done = (count: number): LevelReply => ({ ms: performance.now() - t0, count });
    switch (cmd.kind) {
      case 'load': {
        const d = newLevel();
        await d.open();
        await d.batch(loadOps);
        const out = done(loadOps.length);
        await db?.close();
        this.db = d;
        return out;
      }
      case 'get': {
        let found = 0;
        for (const k of getKeys) if ((await db!.get(k)) !== undefined) found++;
        return done(found);
      }
      case 'iterate': {
        let c = 0;
        for await (const [k] of db!.iterator()) if (k.length > 0) c++;
        return done(c);
      }
      case 'put': {
        for (const k of getKeys) await db!.put(k, cmd.value);
        return done(getKeys.length);
      }
      case 'batch': {
        await db!.batch(ops);
        return done(ops.length);
      }
    }
  }
}
