import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderPlanMarkdown, MARKDOWN_LIMIT, PLAN_COMMENT_MARKER } from '../../src/cli/reporters/plan-markdown.js';
import { loadExample, syntheticReport } from './support.js';

/** Cells of a GFM table row, split on pipes that are not escaped. */
function cells(row: string): string[] {
  return row
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

/** Every table in the text: each row must have as many cells as its header. */
function checkTables(text: string): number {
  let tables = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].startsWith('|') || !lines[i + 1]?.startsWith('| ---')) continue;
    tables++;
    const width = cells(lines[i]).length;
    for (let k = i + 1; k < lines.length && lines[k].startsWith('|'); k++) expect(cells(lines[k]), lines[k]).toHaveLength(width);
  }
  return tables;
}

function balancedDetails(text: string): void {
  expect((text.match(/<details>/g) ?? []).length).toBe((text.match(/<\/details>/g) ?? []).length);
}

describe('markdown plan (the PR comment)', () => {
  const md = renderPlanMarkdown(loadExample());

  it('starts with the sticky-comment marker, then a heading and the summary line', () => {
    const lines = md.split('\n');
    expect(lines[0]).toBe(PLAN_COMMENT_MARKER);
    expect(lines[1]).toBe('## Herald plan: demo-shop');
    expect(md).toContain('**Plan: 4 changed objects (+1 \\~2 -1); 1,314 messages, EUR 10.21 (base EUR 2.10, +386.2%); 1 guard error, 1 guard warn**');
  });

  it('puts money and guards before the config diff, and the details after it, folded', () => {
    const money = md.indexOf('| **Cost** | **EUR 10.21** | EUR 2.10 | +386.2% |');
    const guards = md.indexOf('### Guards');
    const diff = md.indexOf('### Configuration changes');
    const firstDetails = md.indexOf('<details>');
    expect(money).toBeGreaterThan(0);
    expect(money).toBeLessThan(guards);
    expect(guards).toBeLessThan(diff);
    expect(diff).toBeLessThan(firstDetails);
    expect(md).toContain('| ❌ error | cost.sms | 9.30 |  | 5 |');
    expect(md).toContain('| ⚠️ warn | segment.lapsed-loyal.change\\_pct | 8.40 | 5 |  |');
    expect(md).toContain('| ✅ ok | cost.total | 10.21 | 50 | 200 |');
    expect(md).toContain('| `-` | Template | old-promo | campaigns/templates.yaml:40 |');
    for (const summary of ['Segments (3)', 'Journeys (2)', 'Journey welcome (changed): funnel per step', 'Journey winback (new): funnel per step', 'Cost per channel (3)', 'Sample traces (2)']) {
      expect(md).toContain(`<details><summary>${summary}</summary>\n\n`);
    }
    balancedDetails(md);
    expect(checkTables(md)).toBe(10);
  });

  it('has the funnel numbers of the cascade step and the channel costs', () => {
    expect(md).toContain('| third | cascade winback-offer (push → email → sms) if count(purchase, within: 3d) == 0 | 190 | email 112, push 120, sms 38 | 244 | 41 | 7 | no\\_consent 22, budget 4, condition 19 | 0 | EUR 2.81 |');
    expect(md).toContain('| sms | sms | 134 | 130 | 0 | 0 | 155 | EUR 9.30 | EUR 1.56 | +496.2% |');
    expect(md).toContain('| lapsed-loyal | 412 | 380 | +32 | +8.4% | Used to buy often, silent for 90 days |');
  });

  it('escapes | < > and backticks in names that go into tables and summaries', () => {
    const report = loadExample();
    report.journeys[0].name = 'we|come <b>`x`</b>';
    report.journeys[0].steps[0].id = 'he|lo';
    report.segments[0].name = 'big|spenders';
    report.configDiff[0].name = 'we|come <b>`x`</b>';
    report.channels[0].name = 'e|mail';
    const out = renderPlanMarkdown(report);
    expect(out).toContain('we\\|come &lt;b&gt;\\`x\\`&lt;/b&gt;');
    expect(out).toContain('| he\\|lo |');
    expect(out).toContain('| big\\|spenders |');
    expect(out).toContain('<summary>Journey we|come &lt;b&gt;`x`&lt;/b&gt; (changed): funnel per step</summary>');
    expect(out).not.toContain('<b>');
    checkTables(out);
  });

  it('stays under the limit with 500 journeys × 20 steps, keeping money and guards, and says what it cut', () => {
    const report = syntheticReport(500, 20);
    const out = renderPlanMarkdown(report);
    expect(out.length).toBeLessThanOrEqual(MARKDOWN_LIMIT);
    expect(renderPlanMarkdown(report)).toBe(out);
    expect(out.split('\n')[0]).toBe(PLAN_COMMENT_MARKER);
    expect(out).toContain('| **Cost** |');
    expect(out).toContain('| ❌ error | cost.sms | 9.30 |  | 5 |');
    expect(out).toMatch(
      /^> ✂️ Shortened to stay under GitHub's comment size limit: sample traces omitted; step tables of 300 unchanged journeys omitted; step tables of 200 changed journeys omitted; \d+ segment rows cut; \d+ journey rows cut; \d+ configuration change rows cut\. /m,
    );
    // Channels carry the money and are few: never cut here.
    expect(out).toContain('| sms | sms | 134 | 130 | 0 | 0 | 155 | EUR 9.30 | EUR 1.56 | +496.2% |');
    expect(out).not.toContain('Sample traces');
    balancedDetails(out);
    checkTables(out);
    // The note sits before the folded details, where a reviewer sees it.
    expect(out.indexOf('> ✂️')).toBeLessThan(out.indexOf('<details>'));
  });

  it('drops traces first: a plan that only overflows by its traces keeps every step table', () => {
    const report = loadExample();
    const t = report.traces[0];
    report.traces = Array.from({ length: 60 }, (_, i) => ({ ...t, customer: `c-${i}`, entries: [...t.entries, ...t.entries, ...t.entries, ...t.entries, ...t.entries] }));
    const out = renderPlanMarkdown(report);
    expect(out.length).toBeLessThanOrEqual(MARKDOWN_LIMIT);
    expect(out).toContain('> ✂️ Shortened to stay under GitHub\'s comment size limit: sample traces omitted. ');
    expect(out).toContain('Journey welcome (changed): funnel per step');
    expect(out).toContain('Journey winback (new): funnel per step');
    expect(out).toContain('Cost per channel (3)');
  });

  it('drops step tables of unchanged journeys before those of changed ones', () => {
    const report = syntheticReport(120, 20);
    // Only the last journey is in the config diff.
    report.configDiff = [{ kind: 'Journey', name: report.journeys[119].name, change: '~', file: 'campaigns/journeys/x.yaml', line: 1 }];
    const out = renderPlanMarkdown(report);
    expect(out.length).toBeLessThanOrEqual(MARKDOWN_LIMIT);
    expect(out).toContain(`Journey journey-119|pipe (changed): funnel per step`);
    expect(out).toMatch(/step tables of \d+ unchanged journeys omitted/);
    expect(out).not.toMatch(/step tables of \d+ changed journeys? omitted/);
  });

  it('stays under the limit when single names are enormous', () => {
    const report = loadExample();
    report.project = 'p'.repeat(100_000);
    report.generated.dataset = 'd'.repeat(100_000);
    report.generated.base = 'b'.repeat(100_000);
    report.journeys[0].name = 'j|'.repeat(50_000);
    report.guards[0].metric = 'g'.repeat(100_000);
    report.configDiff[0].file = 'f'.repeat(100_000);
    const out = renderPlanMarkdown(report);
    expect(out.length).toBeLessThanOrEqual(MARKDOWN_LIMIT);
    expect(out.split('\n')[0]).toBe(PLAN_COMMENT_MARKER);
    expect(out).toContain('| **Cost** | **EUR 10.21** |');
    expect(out).toContain('| ❌ error | cost.sms | 9.30 |  | 5 |');
  });

  it('property: any names keep every table row at its header width and open no HTML', () => {
    const name = fc.string({ unit: fc.constantFrom('a', '|', '\\', '<', '>', '`', '*', '_', '[', ']', '&', '\n', ' ', '-', '~'), maxLength: 12 });
    fc.assert(
      fc.property(name, name, name, name, (journey, step, segment, channel) => {
        const report = loadExample();
        report.journeys[0].name = journey;
        report.journeys[0].steps[1].id = step;
        report.segments[1].name = segment;
        report.channels[2].name = channel;
        report.journeys[1].steps[0].sent = { [channel]: 5 };
        const out = renderPlanMarkdown(report);
        checkTables(out);
        // The only tags are the ones the reporter writes.
        expect(out.replace(/<\/?(details|summary)>|<!-- herald-plan -->/g, '')).not.toMatch(/[<>]/);
      }),
      { numRuns: 150 },
    );
  });
});
