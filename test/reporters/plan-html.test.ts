// The HTML plan in a real browser (headless Debian Chromium): numbers read back from data-metric, no network,
// user-named objects inert. One browser per file; pages are cheap.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderPlanHtml } from '../../src/cli/reporters/plan-html.js';
import type { PlanReport } from '../../src/plan/plan-report.js';
import { loadExample } from './support.js';

const CHROMIUM = '/usr/bin/chromium';
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
});

afterAll(async () => {
  await browser?.close();
});

interface Loaded {
  page: Page;
  requests: string[];
  metrics: Record<string, { value: number; text: string }>;
}

async function load(html: string): Promise<Loaded> {
  const page = await browser.newPage();
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.setContent(html, { waitUntil: 'load' });
  // Browser-side code as strings: the project's tsconfig has no DOM lib (and should not get one for a test).
  const metrics = (await page.evaluate(`(() => {
    const out = {};
    for (const el of document.querySelectorAll('[data-metric][data-value]')) {
      out[el.dataset.metric] = { value: Number(el.dataset.value), text: el.textContent };
    }
    return out;
  })()`)) as Loaded['metrics'];
  return { page, requests, metrics };
}

function scriptNamedReport(): PlanReport {
  const report = loadExample();
  report.journeys[0].name = '<script>window.__pwned = "journey"</script>';
  report.configDiff[0].name = report.journeys[0].name;
  report.journeys[0].steps[0].id = '"><img src=x onerror="window.__pwned=\'step\'">';
  report.segments[0].name = '<img src="https://tracker.example/p.gif">';
  report.channels[0].name = '<style>body{display:none}</style>';
  report.traces[0].entries[0].what = '<iframe src="https://evil.example/"></iframe>';
  return report;
}

describe('html plan in Chromium', () => {
  it('numbers in the DOM match the PlanReport', async () => {
    const report = loadExample();
    const { page, metrics } = await load(renderPlanHtml(report));
    try {
      expect(metrics['cost.total']).toEqual({ value: 10.21, text: 'EUR 10.21' });
      expect(metrics['cost.base']).toEqual({ value: 2.1, text: 'EUR 2.10' });
      expect(metrics['messages.total']).toEqual({ value: 1314, text: '1,314' });
      expect(metrics['journey.welcome.step.hello.sent.email']).toEqual({ value: 192, text: '192' });
      expect(metrics['journey.welcome.step.third.sent']?.value).toBe(270);
      expect(metrics['journey.welcome.step.third.suppressed.no_consent']?.value).toBe(22);
      expect(metrics['channel.sms.cost']).toEqual({ value: 9.3, text: 'EUR 9.30' });
      expect(metrics['channel.sms.base_cost']?.value).toBe(1.56);
      expect(metrics['journey.winback.entered']?.value).toBe(412);
      expect(metrics['segment.lapsed-loyal.size']?.value).toBe(412);
      expect(metrics['guard.cost.sms']?.value).toBe(9.3);
      // Every channel and every step's funnel, not only the samples above.
      for (const c of report.channels) {
        for (const k of ['sent', 'delivered', 'opened', 'clicked', 'units', 'cost'] as const) expect(metrics[`channel.${c.name}.${k}`]?.value, `${c.name}.${k}`).toBe(c[k]);
      }
      for (const j of report.journeys) {
        expect(metrics[`journey.${j.name}.converted`]?.value).toBe(j.converted);
        for (const s of j.steps) {
          const key = `journey.${j.name}.step.${s.id}`;
          for (const k of ['entered', 'delivered', 'opened', 'clicked', 'deferred', 'cost'] as const) expect(metrics[`${key}.${k}`]?.value, `${key}.${k}`).toBe(s[k]);
          for (const [ch, n] of Object.entries(s.sent)) expect(metrics[`${key}.sent.${ch}`]?.value).toBe(n);
        }
      }
      // A funnel chart per journey plus the cost-per-channel chart, drawn (non-zero size).
      const charts = (await page.evaluate(`[...document.querySelectorAll('svg.chart')].map((e) => e.getBoundingClientRect().height)`)) as number[];
      expect(charts).toHaveLength(report.journeys.length + 1);
      expect(charts.every((h) => h > 50)).toBe(true);
      const sections = (await page.evaluate(`[...document.querySelectorAll('h2')].map((e) => e.textContent)`)) as string[];
      expect(sections).toEqual(['Guards', 'Cost per channel', 'Configuration changes', 'Segments', 'Journeys', 'Sample traces']);
    } finally {
      await page.close();
    }
  });

  it('makes no requests and user-named objects stay text (with and without the CSP)', async () => {
    const report = scriptNamedReport();
    const html = renderPlanHtml(report);
    const withoutCsp = html.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, '');
    expect(withoutCsp).not.toBe(html);
    for (const variant of [html, withoutCsp]) {
      const { page, requests, metrics } = await load(variant);
      try {
        expect(requests.filter((u) => !u.startsWith('data:') && !u.startsWith('about:'))).toEqual([]);
        const state = (await page.evaluate(`({
          pwned: window.__pwned,
          scripts: document.querySelectorAll('script').length,
          imgs: document.querySelectorAll('img').length,
          iframes: document.querySelectorAll('iframe').length,
          styles: document.querySelectorAll('style').length,
          headings: [...document.querySelectorAll('h3')].map((h) => h.textContent),
          bodyVisible: getComputedStyle(document.body).display !== 'none',
        })`)) as { pwned?: string; scripts: number; imgs: number; iframes: number; styles: number; headings: string[]; bodyVisible: boolean };
        expect(state.pwned).toBeUndefined();
        expect(state).toMatchObject({ scripts: 0, imgs: 0, iframes: 0, styles: 1, bodyVisible: true });
        expect(state.headings).toContain('Journey <script>window.__pwned = "journey"</script> (changed)');
        expect(metrics['journey.<script>window.__pwned = "journey"</script>.entered']?.value).toBe(240);
      } finally {
        await page.close();
      }
    }
  });
});
