// `factum/nats`: the Broker port on NATS JetStream through `@nats-io/transport-node` and `@nats-io/jetstream` (optional peer dependencies).
export { NatsBroker, openNatsBroker, type NatsBrokerOptions } from './transport/nats/nats-broker.js';
export { natsNames } from './transport/nats/nats-topology.js';
export { DEAD_LETTER_HEADERS as NATS_DEAD_LETTER_HEADERS } from './transport/nats/nats-dead-letters.js';
