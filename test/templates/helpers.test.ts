import { describe, expect, it } from 'vitest';
import { compileTemplateSet, formatDate, formatMoney, HELPERS, renderMessage } from '../../src/templates/index.js';
import { demoModel } from '../support/demo-model.js';
import { makeContext } from './support.js';

function sms(source: string, ctx = makeContext()): string {
  const r = compileTemplateSet({ sms: source }, demoModel, { smsMaxSegments: 99 });
  if (!r.templateSet) throw new Error(JSON.stringify(r.diagnostics));
  return renderMessage(r.templateSet, 'sms', ctx).text;
}

describe('the registry', () => {
  it('has one entry per helper name, each with a summary', () => {
    const names = HELPERS.map((h) => h.name);
    expect(names).toEqual(['money', 'date', 'link', 'pluralize', 'upper', 'lower', 'default', 'truncate', 'recent']);
    for (const h of HELPERS) expect(h.summary.length).toBeGreaterThan(5);
  });
});

describe('money', () => {
  it('formats in the project currency with the context locale or a locale= option', () => {
    expect(formatMoney(1234.5, 'EUR', 'en-US')).toBe('€1,234.50');
    expect(formatMoney(1234.5, 'EUR', 'de-DE')).toBe('1.234,50\u00a0€');
    expect(formatMoney('19.9', 'USD', 'en-US')).toBe('$19.90');
    expect(sms('{{money ltv}}|{{money ltv locale="fr-FR"}}')).toBe('€1,234.50|1 234,50 €');
  });

  it('renders empty for null and non-numbers', () => {
    expect(formatMoney(null, 'EUR', 'en-US')).toBe('');
    expect(formatMoney('abc', 'EUR', 'en-US')).toBe('');
    expect(formatMoney(Number.NaN, 'EUR', 'en-US')).toBe('');
  });
});

describe('date', () => {
  const ts = Date.UTC(2024, 0, 31, 23, 30); // 1 Feb 00:30 in Berlin, 31 Jan 18:30 in New York
  it("formats epoch ms and ISO strings in the customer's zone", () => {
    expect(formatDate(ts, 'yyyy-MM-dd HH:mm', 'Europe/Berlin', 'en-US')).toBe('2024-02-01 00:30');
    expect(formatDate(ts, 'yyyy-MM-dd HH:mm', 'America/New_York', 'en-US')).toBe('2024-01-31 18:30');
    expect(formatDate('2024-01-31T23:30:00Z', 'yyyy-MM-dd HH:mm', 'Europe/Berlin', 'en-US')).toBe('2024-02-01 00:30');
  });

  it('has a default format and follows the locale', () => {
    expect(formatDate(ts, undefined, 'Europe/Berlin', 'en-US')).toBe('Feb 1, 2024');
    expect(formatDate(ts, 'd LLLL', 'Europe/Berlin', 'de-DE')).toBe('1 Februar');
  });

  it('renders empty for null or invalid values and falls back to UTC for an invalid zone', () => {
    expect(formatDate(null, undefined, 'Europe/Berlin', 'en-US')).toBe('');
    expect(formatDate('not a date', undefined, 'Europe/Berlin', 'en-US')).toBe('');
    expect(formatDate(ts, 'HH:mm', 'Mars/Olympus', 'en-US')).toBe('23:30');
  });

  it('uses the render context zone', () => {
    expect(sms('{{date now "HH:mm ZZZZ"}}', makeContext({ timezone: 'Asia/Tokyo' }))).toBe('19:00 GMT+9');
  });
});

describe('the small helpers', () => {
  it('link returns the URL, or trackLink of it', () => {
    expect(sms('{{link "https://a.example/x"}}')).toBe('https://a.example/x');
    expect(sms('{{link "https://a.example/x"}}', makeContext({ trackLink: (u) => `T(${u})` }))).toBe('T(https://a.example/x)');
    expect(sms('[{{link first_name}}]', makeContext({ profile: {}, trackLink: (u) => `T(${u})` }))).toBe('[]');
  });

  it('pluralize picks the word, with a default plural', () => {
    expect(sms('{{pluralize 1 "item" "items"}} {{pluralize 3 "item" "items"}} {{pluralize 0 "box" "boxes"}} {{pluralize 2 "cap"}}')).toBe('item items boxes caps');
  });

  it('upper, lower, default', () => {
    expect(sms('{{upper first_name}} {{lower "ÄB"}} {{default country "somewhere"}} {{default first_name "there"}}')).toBe('ANNA äb somewhere Anna');
    expect(sms('{{default first_name "there"}}', makeContext({ profile: { first_name: '' } }))).toBe('there');
  });

  it('truncate cuts by code points, never inside a surrogate pair, with a GSM-safe default suffix', () => {
    expect(sms('{{truncate "Hello world" 8}}')).toBe('Hello...');
    expect(sms('{{truncate "short" 8}}')).toBe('short');
    expect(sms('{{truncate "ab😀😀😀" 4 "…"}}')).toBe('ab😀…');
  });
});
