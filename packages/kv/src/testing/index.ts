export { blobStoreConformance, type BlobStoreFactory } from './conformance.js';
