export { createHandler, type HandlerOptions } from './handler.js';
export { serve, type ServeOptions, type CafsServer } from './server.js';
export { planRanges, MAX_RANGES, type RangePlan, type ByteSpan } from './range.js';
