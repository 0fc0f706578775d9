// `factum/redis`: the Broker port on Redis Streams through `ioredis` (an optional peer dependency).
export { RedisBroker, openRedisBroker, type RedisBrokerOptions } from './transport/redis/redis-broker.js';
export { redisNames, type RedisTrimming } from './transport/redis/redis-topology.js';
