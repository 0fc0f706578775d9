import { FactumError } from '../../core/errors.js';
import { streamCategory } from '../../core/message.js';
import { validatePositiveInt } from '../../core/validation.js';

/**
 * What to move out of the live log for the streams a rule matches. Each limit names events to
 * archive; an event is archived when any limit names it. The stream's last event always stays
 * (it carries the stream's version, so appends continue after it).
 */
export interface RetentionRule {
  /** One stream; its rule wins over a category's. */
  streamId?: string;
  /** The streams of one category (the part of the id before the first `-`). A rule with neither applies to every stream. */
  category?: string;
  /** Archive events recorded more than this many seconds ago. */
  maxAgeSeconds?: number;
  /** Keep only the latest N events of each stream in the live log. */
  maxCount?: number;
  /** Archive the versions below this one. */
  beforeVersion?: number;
}

/**
 * Retention per stream or category: what `archiveEvents` writes to an archive and then deletes
 * from the live log. A stream takes the rule naming it, else its category's, else the rule
 * naming neither, else none (it is left alone).
 *
 * @example
 * const policy: RetentionPolicy = { rules: [
 *   { category: 'order', maxAgeSeconds: 365 * 86_400 },
 *   { streamId: 'order-vip', maxCount: 10_000 },
 * ] }
 */
export interface RetentionPolicy {
  rules: RetentionRule[];
}

/**
 * The rule of `policy` that applies to `streamId`, or undefined. Throws `INVALID_ARGUMENT` for
 * a policy whose rules set no limit or bad ones, or name one stream or category twice.
 *
 * @example
 * retentionRuleFor({ rules: [{ category: 'order', maxCount: 100 }] }, 'order-1') // { category: 'order', maxCount: 100 }
 */
export function retentionRuleFor(policy: RetentionPolicy, streamId: string): RetentionRule | undefined {
  validateRetentionPolicy(policy);
  const category = streamCategory(streamId);
  return (
    policy.rules.find((rule) => rule.streamId === streamId) ??
    policy.rules.find((rule) => rule.streamId === undefined && rule.category === category) ??
    policy.rules.find((rule) => rule.streamId === undefined && rule.category === undefined)
  );
}

function validateRetentionPolicy(policy: RetentionPolicy): void {
  if (typeof policy !== 'object' || policy === null || !Array.isArray(policy.rules)) throw new FactumError('INVALID_ARGUMENT', 'A retention policy is { rules: [...] }');
  const seen = new Set<string>();
  for (const rule of policy.rules) {
    validatePositiveInt('maxAgeSeconds', rule.maxAgeSeconds, true);
    validatePositiveInt('maxCount', rule.maxCount);
    validatePositiveInt('beforeVersion', rule.beforeVersion);
    if (rule.maxAgeSeconds === undefined && rule.maxCount === undefined && rule.beforeVersion === undefined) {
      throw new FactumError('INVALID_ARGUMENT', `Retention rule ${JSON.stringify(rule)} sets no limit (maxAgeSeconds, maxCount or beforeVersion)`);
    }
    const key = rule.streamId !== undefined ? `stream ${rule.streamId}` : rule.category !== undefined ? `category ${rule.category}` : 'every stream';
    if (seen.has(key)) throw new FactumError('INVALID_ARGUMENT', `Two retention rules for ${key}`);
    seen.add(key);
  }
}
