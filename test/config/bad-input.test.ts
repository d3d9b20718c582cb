// Every kind of bad configuration input answers with a stable code at an exact file:line:column,
// all problems in one run, and no stack trace.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProject } from '../../src/config/build-project.js';
import type { Diagnostic } from '../../src/diagnostics/diagnostic.js';
import { makeProject, positionOf } from '../support/project-fixture.js';

function load(files: Record<string, string | null>) {
  const dir = makeProject(files);
  const result = loadProject([dir], { cwd: dir });
  return { dir, ...result };
}

function expectDiagnostic(diagnostics: Diagnostic[], code: string, file: string, at: { line: number; column: number }) {
  const match = diagnostics.find((d) => d.code === code);
  expect(match, `expected ${code} in ${JSON.stringify(diagnostics, null, 1)}`).toBeDefined();
  expect(match!.file).toBe(file);
  expect({ line: match!.line, column: match!.column }).toEqual(at);
  expect(match!.message).not.toMatch(/\n\s+at /); // no stack trace
  return match!;
}

const segment = (where: string, name = 'seg') => `apiVersion: herald/v1
kind: Segment
metadata: { name: ${name} }
spec:
  where: ${where}
`;

describe('YAML problems', () => {
  it('reports a tab used for indentation (HER1002)', () => {
    const text = 'apiVersion: herald/v1\nkind: Segment\nmetadata:\n\tname: x\nspec: { where: "true" }\n';
    const r = load({ 'bad.yaml': text });
    expectDiagnostic(r.diagnostics, 'HER1002', 'bad.yaml', { line: 4, column: 1 });
    expect(r.project).toBeUndefined();
  });

  it('reports bad indentation (HER1001)', () => {
    const text = 'apiVersion: herald/v1\nkind: Segment\nmetadata:\n  name: x\n description: y\nspec: { where: "true" }\n';
    const r = load({ 'bad.yaml': text });
    const d = r.diagnostics.find((x) => x.code === 'HER1001' && x.file === 'bad.yaml');
    expect(d).toBeDefined();
    expect(d!.line).toBe(5);
  });

  it('reports a duplicate key at the second occurrence (HER1003)', () => {
    const text = segment('count(purchase) > 1').replace('spec:', 'metadata: { name: again }\nspec:');
    const r = load({ 'dup.yaml': text });
    expectDiagnostic(r.diagnostics, 'HER1003', 'dup.yaml', { line: 4, column: 1 });
  });

  it('refuses an alias bomb without expanding it (HER1004)', () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      levels.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const text = `apiVersion: herald/v1\nkind: Segment\nmetadata: { name: bomb }\nspec:\n  where: "true"\nx:\n  ${levels.join('\n  ')}\n`;
    const r = load({ 'bomb.yaml': text });
    const d = r.diagnostics.find((x) => x.code === 'HER1004');
    expect(d?.file).toBe('bomb.yaml');
    expect(d?.line).toBe(1);
  });

  it('refuses a 10 MB file before parsing it (HER1005)', () => {
    const dir = makeProject({});
    const big = path.join(dir, 'big.yaml');
    writeFileSync(big, `# ${'x'.repeat(10 * 1024 * 1024)}\n`);
    const r = loadProject([dir], { cwd: dir });
    const d = r.diagnostics.find((x) => x.code === 'HER1005');
    expect(d?.file).toBe('big.yaml');
    expect(d?.message).toMatch(/10\.0 MB/);
  });
});

describe('document and schema problems', () => {
  it('wrong kind, with a did-you-mean (HER1012)', () => {
    const text = segment('true').replace('kind: Segment', 'kind: Segmnet');
    const r = load({ 's.yaml': text });
    const d = expectDiagnostic(r.diagnostics, 'HER1012', 's.yaml', { line: 2, column: 7 });
    expect(d.hint).toMatch(/Segment/);
  });

  it('wrong apiVersion (HER1011)', () => {
    const text = segment('true').replace('herald/v1', 'herald/v2');
    const r = load({ 's.yaml': text });
    expectDiagnostic(r.diagnostics, 'HER1011', 's.yaml', { line: 1, column: 13 });
  });

  it('unknown field, with a did-you-mean (HER1021)', () => {
    const text = segment('true').replace('  where:', '  wher: x\n  where:');
    const r = load({ 's.yaml': text });
    const d = expectDiagnostic(r.diagnostics, 'HER1021', 's.yaml', { line: 5, column: 3 });
    expect(d.hint).toMatch(/where/);
  });

  it('wrong type (HER1022) and invalid value (HER1023) in one run', () => {
    const text = `apiVersion: herald/v1
kind: Policy
metadata: { name: default }
spec:
  frequency:
    - { channels: [email], max: three, per: 7d }
  quiet_hours: { from: "25:00", to: "09:00" }
  on_cap: explode
`;
    const r = load({ 'p.yaml': text });
    expectDiagnostic(r.diagnostics, 'HER1022', 'p.yaml', positionOf(text, 'three'));
    const bad = r.diagnostics.filter((d) => d.code === 'HER1023').map((d) => [d.line, d.column]);
    expect(bad).toContainEqual([positionOf(text, '"25:00"').line, positionOf(text, '"25:00"').column]);
    expect(bad).toContainEqual([positionOf(text, 'explode').line, positionOf(text, 'explode').column]);
  });

  it('a oneOf value of the wrong shape gets one message naming what is accepted', () => {
    const text = `apiVersion: herald/v1
kind: Journey
metadata: { name: j }
spec:
  entry: { event: signup }
  steps:
    - id: pause
      wait: 3 days
    - id: hello
      send: { channel: email, template: hello }
`;
    const r = load({ 'j.yaml': text });
    const here = r.diagnostics.filter((d) => d.file === 'j.yaml');
    expect(here).toHaveLength(1);
    expect(here[0].code).toBe('HER1023');
    expect({ line: here[0].line, column: here[0].column }).toEqual(positionOf(text, '3 days'));
  });

  it('missing required field points at its parent (HER1020)', () => {
    const text = 'apiVersion: herald/v1\nkind: Segment\nmetadata: { name: s }\nspec: {}\n';
    const r = load({ 's.yaml': text });
    const d = expectDiagnostic(r.diagnostics, 'HER1020', 's.yaml', { line: 4, column: 1 });
    expect(d.message).toMatch(/where/);
  });
});

describe('expression problems, positioned inside the YAML', () => {
  it('a syntax error inside a folded block scalar points at the exact column', () => {
    const text = `apiVersion: herald/v1
kind: Segment
metadata: { name: lapsed }
spec:
  where: >
    count(purchase, within: 365d) >= 5
    and days_since(last(purchase)) > > 90
`;
    const r = load({ 's.yaml': text });
    const d = r.diagnostics.find((x) => x.code === 'HER2001');
    expect(d).toBeDefined();
    expect({ line: d!.line, column: d!.column }).toEqual(positionOf(text, '> 90', '> >'));
  });

  it.each([
    ['"a" > 3', 'HER2008', '"a" > 3'],
    ['first_nam == "x"', 'HER2004', 'first_nam'],
    ['count(purchase, where: colour == "red") > 0', 'HER2010', 'colour'],
    ['sum(purchase.order_id) > 3', 'HER2011', 'purchase.order_id'],
    ['frobnicate(purchase) > 1', 'HER2005', 'frobnicate'],
    ['count(purchse) > 1', 'HER2009', 'purchse'],
    ['segment("nope")', 'HER2012', '"nope"'],
  ])('%s → %s', (where, code, needle) => {
    const text = segment(`'${where.replace(/'/g, "''")}'`);
    const r = load({ 's.yaml': text });
    expectDiagnostic(r.diagnostics, code, 's.yaml', positionOf(text, needle, 'where:'));
  });

  it('reports a segment reference cycle (HER4003)', () => {
    const text = [segment('segment("b")', 'a'), segment('segment("c")', 'b'), segment('segment("a")', 'c')].join('---\n');
    const r = load({ 's.yaml': text });
    const d = r.diagnostics.find((x) => x.code === 'HER4003');
    expect(d?.message).toMatch(/a → b → c → a/);
    expect(d?.file).toBe('s.yaml');
  });
});

describe('template problems', () => {
  it('a template syntax error inside a YAML string points into the file (HER3001)', () => {
    const text = `apiVersion: herald/v1
kind: Template
metadata: { name: broken }
spec:
  sms: "Hi {{first_name}, bye"
`;
    const r = load({ 't.yaml': text });
    const d = r.diagnostics.find((x) => x.code === 'HER3001');
    expect(d?.file).toBe('t.yaml');
    expect(d?.line).toBe(5);
  });

  it('an unknown variable in a template file points into that file (HER3002)', () => {
    const text = `apiVersion: herald/v1
kind: Template
metadata: { name: fromfile }
spec:
  email:
    subject: Hi
    html: { file: tpl/body.html.hbs }
`;
    const body = '<p>Hello {{frist_name}}</p>\n<a href="{{unsubscribe_url}}">unsubscribe</a>\n';
    const r = load({ 't.yaml': text, 'tpl/body.html.hbs': body });
    const d = expectDiagnostic(r.diagnostics, 'HER3002', path.join('tpl', 'body.html.hbs'), positionOf(body, 'frist_name'));
    expect(d.hint).toMatch(/first_name/);
  });

  it('a missing template file (HER4005)', () => {
    const text = `apiVersion: herald/v1
kind: Template
metadata: { name: fromfile }
spec:
  email: { subject: Hi, html: { file: nowhere.hbs } }
`;
    const r = load({ 't.yaml': text });
    expectDiagnostic(r.diagnostics, 'HER4005', 't.yaml', positionOf(text, 'nowhere.hbs'));
  });
});

const journey = (steps: string, extra = '') => `apiVersion: herald/v1
kind: Journey
metadata: { name: j }
spec:
  entry: { event: signup }${extra}
  steps:
${steps}`;

describe('references and journey rules', () => {
  it('unknown reference with did-you-mean (HER4002)', () => {
    const text = journey('    - id: hello\n      send: { channel: emial, template: hello }\n');
    const r = load({ 'j.yaml': text });
    const d = expectDiagnostic(r.diagnostics, 'HER4002', 'j.yaml', positionOf(text, 'hello'));
    expect(d.hint).toMatch(/'email'/);
  });

  it('duplicate names (HER4001)', () => {
    const r = load({ 's.yaml': segment('true', 'same') + '---\n' + segment('false', 'same') });
    const d = r.diagnostics.find((x) => x.code === 'HER4001');
    expect(d?.line).toBe(9);
  });

  it('unreachable step (HER4010)', () => {
    const text = journey('    - id: hello\n      send: { channel: email, template: hello }\n    - id: stop\n      exit: true\n    - id: orphan\n      send: { channel: email, template: hello }\n');
    const r = load({ 'j.yaml': text });
    expectDiagnostic(r.diagnostics, 'HER4010', 'j.yaml', positionOf(text, 'orphan'));
  });

  it('wait for a message without a timeout (HER4011)', () => {
    const text = journey('    - id: hello\n      send: { channel: email, template: hello }\n    - id: wait-open\n      wait: { for: { message: hello, status: opened } }\n');
    const r = load({ 'j.yaml': text });
    expectDiagnostic(r.diagnostics, 'HER4011', 'j.yaml', positionOf(text, 'wait:', 'wait-open'));
  });

  it('cycle without max_visits (HER4012), accepted with it', () => {
    const steps = '    - id: hello\n      send: { channel: email, template: hello }\n    - id: again\n      wait: 1d\n      goto: hello\n';
    const text = journey(steps);
    const r = load({ 'j.yaml': text });
    expectDiagnostic(r.diagnostics, 'HER4012', 'j.yaml', positionOf(text, 'hello'));
    const ok = load({ 'j.yaml': journey(steps.replace('      goto: hello\n', '      goto: hello\n      max_visits: 3\n')) });
    expect(ok.diagnostics.filter((d) => d.code === 'HER4012')).toEqual([]);
  });

  it('channel whose address or consent attribute is missing or mistyped (HER4020)', () => {
    const text = `apiVersion: herald/v1
kind: Channel
metadata: { name: push }
spec:
  type: push
  address: push_token
  consent: signed_up_at
  provider: { kind: log, path: /tmp/push.log }
`;
    const r = load({ 'c.yaml': text });
    const ds = r.diagnostics.filter((d) => d.code === 'HER4020');
    expect(ds.map((d) => [d.line, d.column])).toEqual([
      [6, 12],
      [7, 12],
    ]);
  });

  it('marketing email template without an unsubscribe link (HER4021)', () => {
    const templates = `apiVersion: herald/v1
kind: Template
metadata: { name: hello }
spec:
  email: { subject: Hi, text: "No way out" }
`;
    const text = journey('    - id: hello\n      send: { channel: email, template: hello }\n');
    const r = load({ 'templates.yaml': templates, 'j.yaml': text });
    expectDiagnostic(r.diagnostics, 'HER4021', 'templates.yaml', positionOf(templates, 'hello'));
    const service = load({ 'templates.yaml': templates, 'j.yaml': journey('    - id: hello\n      send: { channel: email, template: hello }\n', '\n  class: transactional') });
    expect(service.diagnostics.filter((d) => d.code === 'HER4021')).toEqual([]);
  });

  it('secret written inline (HER4022)', () => {
    const channels = readFileSync(path.join(makeProject({}), 'channels.yaml'), 'utf8').replace('token: { env: SMS_TOKEN }', 'token: sk_live_123');
    const r = load({ 'channels.yaml': channels });
    const d = expectDiagnostic(r.diagnostics, 'HER4022', 'channels.yaml', positionOf(channels, 'sk_live_123'));
    expect(d.hint).toMatch(/env/);
  });

  it('unknown guard metric (HER4027)', () => {
    const project = readFileSync(path.join(makeProject({}), 'herald.yaml'), 'utf8') + '  plan:\n    guards:\n      - { metric: cost.totl, warn_above: 1 }\n';
    const r = load({ 'herald.yaml': project });
    const d = r.diagnostics.find((x) => x.code === 'HER4027');
    expect(d?.file).toBe('herald.yaml');
    expect(d?.message).toMatch(/cost\.totl/);
  });

  it('reports every problem across files in one run', () => {
    const r = load({
      's.yaml': segment(`'"a" > 3'`),
      'j.yaml': journey('    - id: hello\n      send: { channel: emial, template: hello }\n'),
      'p.yaml': 'apiVersion: herald/v1\nkind: Policy\nmetadata: { name: p }\nspec: { on_cap: explode }\n',
    });
    const codes = new Set(r.diagnostics.map((d) => `${d.file}:${d.code}`));
    expect(codes).toEqual(new Set(['s.yaml:HER2008', 'j.yaml:HER4002', 'p.yaml:HER1023']));
  });
});
