// The memory-level peer of the kv suite in a worker thread: a V8 heap of its own, so that
// neither contender's garbage collection marks the other's objects (a million-entry
// memory-level is over a million JS objects; cafs's nodes are a few thousand). Each timed
// command is timed here, after a full GC, and the time is sent back.
import { parentPort } from 'node:worker_threads';
import { LevelHost } from './kv-level-host.js';
import type { LevelCommand, LevelControl } from './kv-level-peer.js';

const host = new LevelHost();

parentPort!.on('message', (msg: { id: number; cmd: LevelCommand | LevelControl }) => {
  host.handle(msg.cmd).then(
    (r) => parentPort!.postMessage({ id: msg.id, ...r }),
    (err: unknown) => parentPort!.postMessage({ id: msg.id, ms: 0, error: String((err as Error)?.stack ?? err) }),
  );
});
