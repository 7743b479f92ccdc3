export { mount, clearStaleMount, CafsMount, errno, type MountSource, type MountOptions } from './mount.js';
