/** Stock levels (async projection): units on the shelf, allocated to orders, and restocked, per warehouse and SKU. */
import { defineProjection, type ProjectionContext, type ReadModel } from '../../../src/index.js';
import type { Line, ShopEvent, Warehouse } from '../events.js';
import { sqlOf } from '../read-models/sql-of.js';

async function move(context: ProjectionContext, warehouse: string, sku: string, onHand: number, allocated: number, restocked: number): Promise<void> {
  await sqlOf(context).query(
    `INSERT INTO ${context.table('stock_levels')} AS s (warehouse, sku, on_hand, allocated, restocked) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (warehouse, sku) DO UPDATE SET on_hand = s.on_hand + $3, allocated = s.allocated + $4, restocked = s.restocked + $5`,
    [warehouse, sku, onHand, allocated, restocked],
  );
}

async function allocate(context: ProjectionContext, warehouse: string, lines: Line[], sign: 1 | -1): Promise<void> {
  for (const line of lines) await move(context, warehouse, line.sku, -sign * line.quantity, sign * line.quantity, 0);
}

export const stockLevels = defineProjection<ShopEvent>({
  name: 'stock-levels',
  tables: {
    stock_levels: (t) => `CREATE TABLE ${t} (
      warehouse text NOT NULL, sku text NOT NULL, on_hand integer NOT NULL, allocated integer NOT NULL, restocked integer NOT NULL,
      PRIMARY KEY (warehouse, sku))`,
  },
  handlers: {
    StockRestocked: (event, context) => move(context, event.data.warehouse, event.data.sku, event.data.quantity, 0, event.data.quantity),
    InventoryReserved: (event, context) => allocate(context, event.data.warehouse, event.data.lines, 1),
    StockReleased: (event, context) => allocate(context, event.data.warehouse, event.data.lines, -1),
  },
});

/** The (warehouse, SKU) with the fewest units on hand, as the read model knows it (it may lag a little). */
export async function lowestStock(stock: ReadModel): Promise<{ warehouse: Warehouse; sku: string; onHand: number } | undefined> {
  const { rows } = await stock.query<{ warehouse: Warehouse; sku: string; on_hand: number }>(`SELECT warehouse, sku, on_hand FROM ${stock.table('stock_levels')} ORDER BY on_hand, warehouse, sku LIMIT 1`);
  const row = rows[0];
  return row ? { warehouse: row.warehouse, sku: row.sku, onHand: Number(row.on_hand) } : undefined;
}
