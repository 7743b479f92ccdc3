export { RedisBlobStore, REDIS_MAX_BLOB_SIZE, type RedisBlobStoreOptions } from './blob-store.js';
export { RedisConnection, withDeadline, type RedisClient, type RedisConnectOptions } from './connection.js';
export { StoreUnavailableError, type StoreUnavailableReason } from './errors.js';
export { parseRedisUrl, redactUrl, type ParsedRedisUrl, type RedisAddress } from './url.js';
export { keySlot } from './slot.js';
export { RedisNameStore, type RedisNameStoreOptions, type ReflogEntry } from './names.js';
export { CachedBlobStore, type CachedBlobStoreOptions } from './cache.js';
export { openRedis, type OpenRedisOptions } from './open.js';
