export { startRedisCluster, redisAvailable, type TestCluster, type TestClusterNode, type TestClusterOptions } from './cluster.js';
