/**
 * How the shop is laid out across processes: which service owns which category (its streams,
 * its topic), which read models it keeps beside its log, where its store lives, and what the
 * parent and a service process say to each other over the IPC channel.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { Projection } from '../../../src/index.js';
import { CATEGORY_OF, type ShopEventType } from '../events.js';
import { stockLevels } from '../inventory/stock-levels.js';
import { customerOrders } from '../orders/customer-orders.js';
import { revenuePerDay } from '../payments/revenue-per-day.js';
import { SERVICES } from '../shop.js';
import type { ServiceDefinition } from '../service.js';
import type { ShopStoreConfig } from '../store/open-shop-store.js';
import type { ShopBrokerName } from './shop-brokers.js';

export type ServiceName = 'orders' | 'payments' | 'inventory' | 'shipping';
export type Category = (typeof CATEGORY_OF)[ShopEventType];

/** The category of the streams each service writes: its log holds them, its relay publishes them. */
export const OWN_CATEGORY: Readonly<Record<ServiceName, Category>> = { orders: 'order', payments: 'payment', inventory: 'inventory', shipping: 'shipment' };

/**
 * The read models each service keeps beside its own log, fed by its own events only. The order
 * summary follows every service's events, so no one service can keep it: the parent builds it
 * in the audit copy of the union (bus/audit-copy.ts).
 */
export const LOCAL_READ_MODELS: Readonly<Record<ServiceName, ReadonlyArray<{ projection: Projection; inline: boolean }>>> = {
  orders: [{ projection: customerOrders, inline: true }],
  payments: [{ projection: revenuePerDay, inline: false }],
  inventory: [{ projection: stockLevels, inline: false }],
  shipping: [],
};

export const SERVICE_NAMES = SERVICES.map((s) => s.name as ServiceName);

export function serviceDefinition(name: ServiceName): ServiceDefinition {
  return SERVICES.find((s) => s.name === name)!;
}

/** The categories (topics) a service reacts to: those of its reactions' event types. */
export function consumedCategories(service: ServiceDefinition): Category[] {
  return [...new Set(Object.keys(service.reactions).map((type) => CATEGORY_OF[type as ShopEventType]))].sort();
}

/** The services that consume a category's topic (each is one group on it). */
export function consumersOf(category: Category): ServiceName[] {
  return SERVICE_NAMES.filter((name) => consumedCategories(serviceDefinition(name)).includes(category));
}

export const topicOf = (prefix: string, category: Category): string => `${prefix}.${category}`;

/** What the shop across processes runs on. */
export interface BusConfig {
  /** postgres://… : each service in its own schema; otherwise each in its own PGlite directory under `dataDir`. */
  databaseUrl?: string;
  /** The parent of the services' directories (`<dataDir>/<service>`). */
  dataDir: string;
  /** The services' schemas are `<schema>_<service>`; `factum_shop` by default. */
  schema?: string;
  /** Which broker the services talk through (bus/shop-brokers.ts), and where it is. */
  broker: ShopBrokerName;
  brokerUrl: string;
  /** Prefix of the topics; by default one derived from where the stores are, so a rerun continues and two shops never meet. */
  topicPrefix?: string;
}

export function serviceStoreConfig(config: BusConfig, service: ServiceName): ShopStoreConfig {
  if (config.databaseUrl) return { databaseUrl: config.databaseUrl, dataDir: 'unused', schema: `${config.schema ?? 'factum_shop'}_${service}` };
  return { dataDir: resolve(config.dataDir, service) };
}

export function topicPrefixOf(config: BusConfig): string {
  if (config.topicPrefix) return config.topicPrefix;
  const where = config.databaseUrl ? `${config.databaseUrl} ${config.schema ?? 'factum_shop'}` : resolve(config.dataDir);
  return `factum-shop-${createHash('sha256').update(where).digest('hex').slice(0, 10)}`;
}

/** What a service process is started with (its one argument, as JSON). */
export interface ServiceProcessConfig {
  service: ServiceName;
  store: ShopStoreConfig;
  broker: ShopBrokerName;
  brokerUrl: string;
  topicPrefix: string;
}

/** A consumer of one topic, as a service process reports it. */
export interface ConsumerReport {
  name: string;
  category: Category;
  /** Messages handled over all runs (counted in the handler's transaction, so exactly once). */
  received: number;
  /** Since this process started: */
  handled: number;
  duplicates: number;
  retried: number;
  deadLettered: number;
}

/** Where a service process stands: the parent settles the flows on these. */
export interface ServiceReport {
  service: ServiceName;
  pid: number;
  head: bigint;
  /** Events of its own category in its log: what its relay has to publish. */
  events: number;
  relay: { position: bigint; published: number; state: string };
  consumers: ConsumerReport[];
  readModels: Array<{ name: string; position: bigint; state: string }>;
  failures: number;
}

/** Parent → service. */
export type ServiceRequest =
  | { id: number; op: 'start-relay' }
  | { id: number; op: 'start-run'; seed: number; orders: number }
  | { id: number; op: 'command'; name: string; args: unknown[] }
  | { id: number; op: 'report' }
  | { id: number; op: 'stop' };

/** Service → parent. */
export type ServiceMessage =
  | { kind: 'ready' }
  | { kind: 'failed'; error: string }
  | { kind: 'reply'; id: number; ok: true; value: unknown }
  | { kind: 'reply'; id: number; ok: false; error: string; code?: string };
