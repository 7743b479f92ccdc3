export { blobStoreConformance, type BlobStoreFactory } from './conformance.js';
export { replaceMemoryBlob } from '../store/level-blob-store.js';
