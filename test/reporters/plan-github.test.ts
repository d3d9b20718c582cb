import { describe, expect, it } from 'vitest';
import { escapeCommandData, escapeCommandProperty, githubStepSummary, renderPlanGithub } from '../../src/cli/reporters/plan-github.js';
import { renderPlanMarkdown } from '../../src/cli/reporters/plan-markdown.js';
import { loadExample } from './support.js';

describe('github plan reporter', () => {
  it('a notice with the summary, then one annotation per guard that warns or errors', () => {
    const lines = renderPlanGithub(loadExample()).trimEnd().split('\n');
    expect(lines).toEqual([
      '::notice title=Herald plan%3A demo-shop::Plan: 4 changed objects (+1 ~2 -1); 1,314 messages, EUR 10.21 (base EUR 2.10, +386.2%25); 1 guard error, 1 guard warn',
      '::error title=cost.sms::guard cost.sms = 9.30 is above its error threshold 5',
      '::warning title=segment.lapsed-loyal.change_pct::guard segment.lapsed-loyal.change_pct = 8.40 is above its warn threshold 5',
    ]);
  });

  it('no annotation for guards that pass', () => {
    const report = loadExample();
    report.guards = report.guards.filter((g) => g.status === 'ok');
    report.summary.guards = { ok: 1, warn: 0, error: 0 };
    const out = renderPlanGithub(report);
    expect(out).not.toMatch(/^::(warning|error)/m);
    expect(out.trimEnd().split('\n')).toHaveLength(1);
  });

  it('escapes workflow-command data and properties, so a metric cannot inject a command', () => {
    const report = loadExample();
    report.guards[2].metric = 'cost,sms:100%\r\n::error::injected';
    const out = renderPlanGithub(report);
    const error = out.split('\n').find((l) => l.startsWith('::error'))!;
    expect(error).toBe('::error title=cost%2Csms%3A100%25%0D%0A%3A%3Aerror%3A%3Ainjected::guard cost,sms:100%25%0D%0A::error::injected = 9.30 is above its error threshold 5');
    // Every output line is a command of ours: the injected text stayed inside one line.
    expect(out.trimEnd().split('\n').every((l) => /^::(notice|warning|error) title=/.test(l))).toBe(true);
    expect(out.trimEnd().split('\n')).toHaveLength(3);
  });

  it('escape helpers follow the runner rules', () => {
    expect(escapeCommandData('50% a\r\nb: c, d')).toBe('50%25 a%0D%0Ab: c, d');
    expect(escapeCommandProperty('50% a\r\nb: c, d')).toBe('50%25 a%0D%0Ab%3A c%2C d');
  });

  it('the step summary is the PR markdown', () => {
    const report = loadExample();
    expect(githubStepSummary(report)).toBe(renderPlanMarkdown(report));
  });
});
