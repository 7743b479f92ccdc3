export { mount, CafsMount, type MountSource, type MountOptions, type MountEvents } from './mount.js';
export { clearStaleMount } from './stale.js';
export { errno } from './native.js';
export { BranchCommits, DEFAULT_QUIET_MS, DEFAULT_MAX_DELAY_MS, type CommitPolicy, type Committed } from './commit-policy.js';
