// `factum/rabbitmq`: the Broker port on RabbitMQ through `amqplib` (an optional peer dependency).
export { RabbitMqBroker, openRabbitMqBroker, type RabbitMqBrokerOptions } from './transport/rabbitmq/rabbitmq-broker.js';
export { rabbitMqNames } from './transport/rabbitmq/rabbitmq-topology.js';
export { DEAD_LETTER_HEADERS } from './transport/rabbitmq/rabbitmq-dead-letters.js';
