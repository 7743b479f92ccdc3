export { blobStoreConformance, type BlobStoreFactory } from './conformance.js';
export { codecConformance, rawBlobStoreConformance, openCoded, CODEC_VARIANTS, TEST_SECRET, type RawStoreFactory, type RawAndBlobStore } from './codecs.js';
export { replaceMemoryBlob } from '../store/level-blob-store.js';
