export { planTransfer, type PlanItem, type PlanKind, type SyncRequest } from './plan.js';
export { sync, storeSource, storeTarget, verifyBlob, type SyncSource, type SyncTarget, type SyncOptions, type SyncProgress, type SyncReport } from './sync.js';
export { HttpRemote, type HttpRemoteOptions, type RemoteRefs } from './http-remote.js';
export { encodeHashes, decodeHashes, encodePlan, decodePlan, encodeFrames, decodeFrames, frameHead, ABSENT } from './wire.js';
export { SyncError, type SyncErrorCode } from './errors.js';
export { fetchRemote, pushBranch, repoRemote, repoSource, acceptBranchUpdate, isAncestor, type Remote, type FetchResult, type PushResult } from './remote.js';
export { RemoteBlobStore, type RemoteBlobStoreOptions } from './remote-store.js';
export { OverlayBlobStore } from './overlay-store.js';
