export { mount, CafsMount, type MountSource, type MountOptions, type MountEvents } from './mount.js';
export { clearStaleMount } from './stale.js';
export { errno } from './native.js';
