export { createHandler, type HandlerOptions } from './handler.js';
export { type PushOptions, MAX_HASHES } from './sync-routes.js';
export { serve, type ServeOptions, type CafsServer } from './server.js';
export { planRanges, MAX_RANGES, type RangePlan, type ByteSpan } from './range.js';
