import type { OtelApi } from './otel-api.js';

/** What factum adds to: the part of an OpenTelemetry `Counter` it uses. */
export interface AddingCounter {
  add(value: number, attributes: Record<string, string>): void;
}

/**
 * A monotonic counter summed here and handed to the SDK as an observable counter when it
 * collects. Why not the SDK's own counter: its `add` hashes the attributes (keys sorted, then
 * JSON) on every call, and factum adds on every append and every relayed message. Here a series
 * is found by its label values in the definition's order, and the SDK sees one observation per
 * series per collection. Exported the same way (a cumulative sum, `_total` in Prometheus).
 */
export class CumulativeCounter implements AddingCounter {
  private readonly series = new Map<string, { attributes: Record<string, string>; value: number }>();

  constructor(private readonly labels: readonly string[]) {}

  add(value: number, attributes: Record<string, string>): void {
    // A counter only goes up: what the SDK would drop (with a warning) is dropped here.
    if (!(value >= 0) || value === Infinity) return;
    const key = this.labels.length === 1 ? attributes[this.labels[0]!]! : this.labels.map((label) => attributes[label]).join('\u0000');
    const found = this.series.get(key);
    if (found) found.value += value;
    else this.series.set(key, { attributes: { ...attributes }, value });
  }

  /** Reports every series' total so far into a batch observable callback's `result`. */
  observe(result: OtelApi.BatchObservableResult, instrument: OtelApi.ObservableCounter): void {
    for (const { attributes, value } of this.series.values()) result.observe(instrument, value, attributes);
  }
}
