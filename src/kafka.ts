// `factum/kafka`: the Broker port on Kafka through `kafkajs` (an optional peer dependency).
export { KafkaBroker, openKafkaBroker, type KafkaBrokerOptions } from './transport/kafka/kafka-broker.js';
export { kafkaNames } from './transport/kafka/kafka-topology.js';
export { DEAD_LETTER_HEADERS as KAFKA_DEAD_LETTER_HEADERS } from './transport/kafka/kafka-dead-letters.js';
