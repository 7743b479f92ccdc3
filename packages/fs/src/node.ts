// The Node entry point (the `node` export condition): the same API as ./index.ts, with large
// writes hashing their chunks on a worker thread (data/worker-hasher.ts) while the calling
// thread goes on chunking. Elsewhere (./index.ts) every chunk is hashed on the calling thread;
// the roots are the same.
import { setChunkHasher } from './data/chunk-hasher.js';
import { WorkerChunkHasher } from './data/worker-hasher.js';

setChunkHasher(new WorkerChunkHasher());

export * from './index.js';
export { WorkerChunkHasher, WorkerHashError } from './data/worker-hasher.js';
