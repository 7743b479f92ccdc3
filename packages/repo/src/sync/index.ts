export { planTransfer, type PlanItem, type PlanKind, type SyncRequest } from './plan.js';
export { sync, storeSource, storeTarget, verifyBlob, type SyncSource, type SyncTarget, type SyncOptions, type SyncProgress, type SyncReport } from './sync.js';
export { SyncError, type SyncErrorCode } from './errors.js';
