// Shared helpers for template tests.
import type { Span } from '../../src/diagnostics/diagnostic.js';
import { checkTemplate, parseTemplate, type CheckTemplateOptions } from '../../src/templates/index.js';
import type { RecentEvent, RenderContext } from '../../src/templates/index.js';
import { demoModel } from '../support/demo-model.js';

/** The span of the `nth` occurrence (0-based) of `needle` in `source`. */
export function spanOf(source: string, needle: string, nth = 0): Span {
  let at = -1;
  for (let i = 0; i <= nth; i++) {
    at = source.indexOf(needle, at + 1);
    if (at < 0) throw new Error(`'${needle}' not found ${nth + 1} times in ${JSON.stringify(source)}`);
  }
  return { start: at, end: at + needle.length };
}

/** Parse and check one text against the demo model; the parse must succeed. */
export function check(source: string, options: Partial<CheckTemplateOptions> = {}, model = demoModel) {
  const parsed = parseTemplate(source);
  if (!parsed.ast) throw new Error(`parse failed: ${JSON.stringify(parsed.diagnostics)}`);
  return checkTemplate(parsed.ast, source, model, { escape: 'none', ...options });
}

/** code, span and hint of each diagnostic, for compact assertions. */
export function codes(source: string, options: Partial<CheckTemplateOptions> = {}) {
  return check(source, options).diagnostics.map((d) => ({ code: d.code, span: d.span, hint: d.hint }));
}

export const BERLIN_NOON = Date.UTC(2024, 5, 1, 10, 0, 0); // 2024-06-01 12:00 in Europe/Berlin (CEST)

export const CATALOGUE: Record<string, Record<string, unknown>> = {
  'sku-1': { id: 'sku-1', name: 'Trail Shoe', price: 129.9, category: 'shoes', url: 'https://shop.example/p/sku-1', image: 'https://cdn.example/sku-1.jpg' },
  'sku-2': { id: 'sku-2', name: 'Rain Jacket', price: 89, category: 'outerwear', url: 'https://shop.example/p/sku-2', image: 'https://cdn.example/sku-2.jpg' },
  'sku-3': { id: 'sku-3', name: 'Wool Socks', price: 12.5, category: 'socks', url: 'https://shop.example/p/sku-3', image: 'https://cdn.example/sku-3.jpg' },
  'sku-4': { id: 'sku-4', name: 'Cap', price: 19, category: 'hats', url: 'https://shop.example/p/sku-4', image: 'https://cdn.example/sku-4.jpg' },
};

export function makeContext(overrides: Partial<RenderContext> = {}, history: Record<string, RecentEvent[]> = {}): RenderContext {
  return {
    profile: { first_name: 'Anna', email: 'anna@example.com', timezone: 'Europe/Berlin' },
    customerId: 'c-42',
    now: BERLIN_NOON,
    timezone: 'Europe/Berlin',
    currency: 'EUR',
    locale: 'en-US',
    unsubscribeUrl: 'https://shop.example/u?c=c-42&t=abc',
    preferencesUrl: 'https://shop.example/prefs?c=c-42',
    derived: { ltv: 1234.5, rfm: { r: 5, f: 4, m: 5, score: 545, segment: 'champions' }, clv: { p_alive: 0.87 } },
    recentEvents: (type, n) => (history[type] ?? []).slice(0, n),
    product: (id) => CATALOGUE[id],
    ...overrides,
  };
}
