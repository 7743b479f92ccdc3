export { mount, clearStaleMount, CafsMount, errno, type MountSource, type MountOptions, type MountEvents } from './mount.js';
