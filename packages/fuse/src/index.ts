export { mount, CafsMount } from './mount.js';
export type { MountSource, MountOptions, MountEvents } from './mount-types.js';
export { clearStaleMount } from './stale.js';
export { errno } from './native.js';
export { BranchCommits, DEFAULT_QUIET_MS, DEFAULT_MAX_DELAY_MS, type CommitPolicy, type Committed } from './commit-policy.js';
