// The hand-written CSV scanner against csv-parse as the oracle, across chunk boundaries.
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanCsvBuffer, scanCsvFile, type CsvRecord } from '../../src/dataset/csv-scanner.js';
import { parseNumberBytes, parseTimestamp } from '../../src/dataset/parse-scalars.js';
import { tempDir } from './helpers.js';

function collect(scan: (onRecord: (r: CsvRecord) => void) => void): { fields: string[]; line: number }[] {
  const out: { fields: string[]; line: number }[] = [];
  scan((r) => out.push({ fields: Array.from({ length: r.count }, (_, f) => r.text(f)), line: r.line }));
  return out;
}

const field = fc.oneof(
  fc.stringMatching(/^[a-z0-9 .:-]{0,6}$/),
  fc.constantFrom('a,b', 'say "hi"', 'two\nlines', '{"k":"v"}', 'ä€', ''),
);

describe('CSV scanner', () => {
  it('agrees with csv-parse, whatever the chunk size', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(field, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 12 }),
        fc.constantFrom('\n', '\r\n'),
        fc.integer({ min: 1, max: 40 }),
        (rows, eol, chunk) => {
          const text = rows.map((r) => r.map((f) => (/[",\r\n]/.test(f) || f === '' ? `"${f.replace(/"/g, '""')}"` : f)).join(',')).join(eol) + eol;
          const expected: string[][] = parse(text, { relax_column_count: true });
          const file = path.join(tempDir(), 'x.csv');
          writeFileSync(file, text);
          const fromFile = collect((on) => scanCsvFile(file, on, () => expect.fail('problem'), chunk));
          const fromBuffer = collect((on) => scanCsvBuffer(Buffer.from(text), on, () => expect.fail('problem')));
          expect(fromFile.map((r) => r.fields)).toEqual(expected);
          expect(fromBuffer).toEqual(fromFile);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('counts lines through quoted line breaks and skips a BOM and blank lines', () => {
    const text = '\ufeffa,b\n"x\ny",1\n\nlast,2';
    const rows = collect((on) => scanCsvBuffer(Buffer.from(text), on, () => {}));
    expect(rows).toEqual([
      { fields: ['a', 'b'], line: 1 },
      { fields: ['x\ny', '1'], line: 2 },
      { fields: ['last', '2'], line: 5 },
    ]);
  });

  it('reports broken quoting with its line and goes on', () => {
    const problems: number[] = [];
    const rows = collect((on) => scanCsvBuffer(Buffer.from('a\n"b"c,1\nd\n"unterminated'), on, (p) => problems.push(p.line)));
    expect(rows.map((r) => r.fields[0])).toEqual(['a', 'd']);
    expect(problems).toEqual([2, 4]);
  });
});

describe('scalar parsers', () => {
  it('timestamps: ISO forms, zones, epoch ms; NaN for anything else', () => {
    expect(parseTimestamp('2026-10-31')).toBe(Date.UTC(2026, 9, 31));
    expect(parseTimestamp('2026-10-31T12:34:56Z')).toBe(Date.UTC(2026, 9, 31, 12, 34, 56));
    expect(parseTimestamp('2026-10-31 12:34')).toBe(Date.UTC(2026, 9, 31, 12, 34));
    expect(parseTimestamp('2026-10-31T12:34:56.5+02:00')).toBe(Date.UTC(2026, 9, 31, 10, 34, 56, 500));
    expect(parseTimestamp('2026-10-31T12:34:56-0530')).toBe(Date.UTC(2026, 9, 31, 18, 4, 56));
    expect(parseTimestamp('1767225600000')).toBe(1767225600000);
    for (const bad of ['', '2026-02-30', '2026-10-31T25:00:00Z', '2026-10-31T12:00:00X', 'yesterday', '2026/10/31']) {
      expect(parseTimestamp(bad), bad).toBeNaN();
    }
    fc.assert(
      fc.property(fc.date({ min: new Date(Date.UTC(1900, 0, 1)), max: new Date(Date.UTC(2200, 0, 1)), noInvalidDate: true }), (d) => {
        expect(parseTimestamp(d.toISOString())).toBe(d.getTime());
      }),
    );
  });

  it('numbers: exact for short decimals, Number() semantics otherwise', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const text = String(x);
        const b = Buffer.from(text);
        expect(parseNumberBytes(b, 0, b.length)).toBe(/^-?\d/.test(text) ? Number(text) : NaN);
      }),
    );
    for (const t of ['12.50', '-0.01', '123456789012345', '1e3']) expect(parseNumberBytes(Buffer.from(t), 0, t.length)).toBe(Number(t));
    for (const t of ['', '-', '1.', '.5', '1,5', 'abc', '0x10']) expect(parseNumberBytes(Buffer.from(t), 0, t.length)).toBeNaN();
  });
});
