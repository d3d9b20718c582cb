import { describe, expect, it } from 'vitest';
import { renderCalibrationSvg } from '../../src/analytics/clv/index.js';
import { isInertSvg } from '../../src/cli/reporters/plan-html-charts.js';
import {
  formatCount,
  formatMoney,
  formatPct,
  formatSignedPct,
  summaryLine,
} from '../../src/cli/reporters/plan-format.js';
import { planReporters, PLAN_FORMATS } from '../../src/cli/reporters/plan-reporters.js';
import type { PlanReport } from '../../src/plan/plan-report.js';
import { findUnmasked, loadExample } from './support.js';

const SUMMARY = 'Plan: 4 changed objects (+1 ~2 -1); 1,314 messages, EUR 10.21 (base EUR 2.10, +386.2%); 1 guard error, 1 guard warn';

describe('plan number formatting', () => {
  it.each([
    [formatMoney(1234.5, 'EUR'), 'EUR 1,234.50'],
    [formatMoney(-0.001, 'EUR'), 'EUR 0.00'],
    [formatMoney(-1234567.891, 'USD'), 'USD -1,234,567.89'],
    [formatMoney(0.125, 'EUR'), 'EUR 0.13'],
    [formatMoney(1.005, 'EUR'), 'EUR 1.01'],
    [formatMoney(1e21, 'EUR'), 'EUR 1e+21'],
    [formatMoney(-2.675, 'EUR'), 'EUR -2.68'],
    [formatCount(1314), '1,314'],
    [formatCount(999), '999'],
    [formatCount(-1000), '-1,000'],
    [formatPct(8.44), '8.4%'],
    [formatSignedPct(23.45), '+23.5%'],
    [formatSignedPct(-5), '-5.0%'],
    [formatSignedPct(0.01), '0.0%'],
    [formatSignedPct(-0.01), '0.0%'],
    [formatMoney(NaN, 'EUR'), 'EUR n/a'],
  ])('%s = %s', (got, want) => expect(got).toBe(want));
});

describe('plan reporters', () => {
  it.each(PLAN_FORMATS)('%s is byte-deterministic, also after a JSON round trip', (format) => {
    const report = loadExample();
    const a = planReporters[format](report);
    const b = planReporters[format](report);
    const c = planReporters[format](JSON.parse(JSON.stringify(report)) as PlanReport);
    expect(a.length).toBeGreaterThan(200);
    expect(b).toBe(a);
    expect(c).toBe(a);
  });

  it('the summary line states changes, messages, money against base and guards', () => {
    expect(summaryLine(loadExample())).toBe(SUMMARY);
    const noBase = loadExample();
    delete noBase.generated.base;
    delete noBase.summary.baseCost;
    noBase.guards = noBase.guards.filter((g) => g.status === 'ok');
    noBase.summary.guards = { ok: 1, warn: 0, error: 0 };
    expect(summaryLine(noBase)).toBe('Plan: no base compared; 1,314 messages, EUR 10.21; 1 guard ok');
    const same = loadExample();
    same.configDiff = [];
    same.summary.changes = { added: 0, changed: 0, removed: 0 };
    same.summary.baseCost = 10.21;
    expect(summaryLine(same)).toMatch(/^Plan: no configuration changes; 1,314 messages, EUR 10\.21 \(base EUR 10\.21, 0\.0%\);/);
  });

  it('text: Terraform-like diff with file:line, segments, funnel per step, channels, guards, traces', () => {
    const text = planReporters.text(loadExample());
    expect(text.trimEnd().split('\n').at(-1)).toBe(SUMMARY);
    expect(text).toMatch(/^ {2}~ {2}Journey welcome +campaigns\/journeys\/welcome\.yaml:3 +change$/m);
    expect(text).toMatch(/^ {2}\+ {2}Journey winback +campaigns\/journeys\/winback\.yaml:3 +add$/m);
    expect(text).toMatch(/^ {2}- {2}Template old-promo +campaigns\/templates\.yaml:40 +remove$/m);
    expect(text).toContain('Segment lapsed-loyal (renamed from lapsed)');
    expect(text).toMatch(/^ {2}lapsed-loyal +412 +380 +\+32 +\+8\.4%$/m);
    expect(text).toMatch(/^ {2}recent-browsers +95 +new +\+95$/m);
    // The cascade step: three channels in the report's channel order, suppressions by reason.
    expect(text).toMatch(/^ {2}third +190 +email 112, push 120, sms 38 +244 +41 +7 +0 +EUR 2\.81 +no_consent 22, budget 4, condition 19 +cascade winback-offer \(push → email → sms\)/m);
    expect(text).toMatch(/^ {2}sms +sms +134 +130 +0 +0 +155 +EUR 9\.30 +EUR 1\.56 +\+496\.2%$/m);
    expect(text).toMatch(/^ {2}✗ +error +cost\.sms +9\.30 +error > 5$/m);
    expect(text).toMatch(/^ {2}! +warn +segment\.lapsed-loyal\.change_pct +8\.40 +warn > 5$/m);
    expect(text).toContain('base: entered 240, converted 31, 540 messages, EUR 2.10 (cost +49.5%)');
    expect(text).toContain('c-00017 a***@e***.com +44 *** *** *789 (Europe/London)');
    expect(text).toMatch(/2024-05-07T10:00:00\.000Z {2}welcome\/third +suppressed email: frequency_cap/);
  });

  it('text: control characters in names do not reach the terminal', () => {
    const report = loadExample();
    report.journeys[0].name = 'evil\u001b[2J\nname';
    const text = planReporters.text(report);
    expect(text).not.toMatch(/\u001b/);
    expect(text).toContain('Journey evil [2J name');
  });

  it('json: the report itself, with format_version, newline-terminated', () => {
    const report = loadExample();
    const json = planReporters.json(report);
    expect(json.endsWith('}\n')).toBe(true);
    expect(JSON.parse(json)).toEqual(report);
    expect(json).toContain('"format_version": 1');
  });

  it.each(['markdown', 'json', 'html', 'text'] as const)('%s shows no unmasked email or phone', (format) => {
    const out = planReporters[format](loadExample());
    expect(findUnmasked(out)).toEqual([]);
  });

  it('the masking check would catch an unmasked contact', () => {
    const report = loadExample();
    report.traces[0].contact = 'anna.berg@example.com +4915112345678';
    expect(findUnmasked(planReporters.json(report))).toEqual(['anna.berg@example.com', '+4915112345678']);
  });

  it('CLV: text and markdown carry the text, html embeds an inert SVG and refuses anything that could run', () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="#2563eb"/></svg>';
    const report = { ...loadExample(), clv: { svg, text: 'CLV 90d: mean EUR 41.20 per customer\nBG/NBD fit: r=0.24 alpha=4.41' } };
    expect(planReporters.text(report)).toContain('Customer lifetime value:\nCLV 90d: mean EUR 41.20 per customer\nBG/NBD fit: r=0.24 alpha=4.41\n');
    const markdown = planReporters.markdown(report);
    expect(markdown).toContain('<details><summary>Customer lifetime value</summary>');
    expect(markdown).toContain('```text\nCLV 90d: mean EUR 41.20 per customer\n');
    expect(planReporters.html(report)).toContain(svg);
    const evil = { ...report, clv: { svg: '<svg><a href="https://evil.example/">x</a></svg>', text: 'x' } };
    expect(planReporters.html(evil)).not.toContain('evil.example');
    const evil2 = { ...report, clv: { svg: '<svg onload="alert(1)"></svg>', text: 'x' } };
    expect(planReporters.html(evil2)).not.toContain('onload');
  });

  it('CLV: the chart of src/analytics/clv passes the inert-SVG check and is embedded as is', () => {
    const svg = renderCalibrationSvg({
      unitMs: 7 * 86_400_000,
      calibrationEnd: '1997-10-01',
      holdoutEnd: '1998-07-01',
      holdoutUnits: 39,
      buckets: ['0', '1', '2', '3+'].map((label, i) => ({ label, customers: 100 - i * 20, actual: 0.2 + i * 0.4, predicted: 0.25 + i * 0.38 })),
      totals: { customers: 280, actual: 300, predicted: 310, relativeError: 0.033 },
      tracking: Array.from({ length: 10 }, (_, i) => ({ period: i + 1, date: `1997-0${(i % 9) + 1}-01`, actualCumulative: i * 10, predictedCumulative: i * 10.5 })),
      trackingCalibrationEnd: 5,
    });
    expect(isInertSvg(svg)).toBe(true);
    const html = planReporters.html({ ...loadExample(), clv: { svg, text: 'holdout error 3.3%' } } as PlanReport);
    expect(html).toContain(svg);
    expect(html).toContain('<pre>holdout error 3.3%</pre>');
  });
});
