import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countSmsSegments, GSM7_BASIC, GSM7_EXTENSION, type SmsCount } from '../../src/templates/index.js';

describe('the GSM 03.38 tables', () => {
  it('basic set has 127 characters (128 codes minus the escape), extension 10', () => {
    expect(new Set(GSM7_BASIC).size).toBe(127);
    expect(GSM7_BASIC.length).toBe(127);
    expect(GSM7_EXTENSION).toBe('\f^{}\\[~]|€');
  });
});

describe('countSmsSegments', () => {
  const cases: [string, string, SmsCount][] = [
    ['empty text is nothing to send', '', { encoding: 'gsm7', units: 0, segments: 0 }],
    ['GSM-7 160 fits one', 'a'.repeat(160), { encoding: 'gsm7', units: 160, segments: 1 }],
    ['GSM-7 161 needs two', 'a'.repeat(161), { encoding: 'gsm7', units: 161, segments: 2 }],
    ['GSM-7 306 = 2 × 153', 'a'.repeat(306), { encoding: 'gsm7', units: 306, segments: 2 }],
    ['GSM-7 307 needs three', 'a'.repeat(307), { encoding: 'gsm7', units: 307, segments: 3 }],
    ['extension chars count 2', '€'.repeat(80), { encoding: 'gsm7', units: 160, segments: 1 }],
    ['one extension char past 160', 'a'.repeat(159) + '^', { encoding: 'gsm7', units: 161, segments: 2 }],
    ['an escape pair is not split', 'a'.repeat(152) + '{' + 'a'.repeat(10), { encoding: 'gsm7', units: 164, segments: 2 }],
    ['escape pair moving over makes a third', 'a'.repeat(152) + '{' + 'a'.repeat(152), { encoding: 'gsm7', units: 306, segments: 3 }],
    ['accented basic chars stay GSM-7', 'àéèìòùÄÖÑÜäöñü§¿¡ΔΦΓΛΩΠΨΣΘΞ', { encoding: 'gsm7', units: 27, segments: 1 }],
    ['form feed is an extension char', '\f', { encoding: 'gsm7', units: 2, segments: 1 }],
    ['ç is not GSM-7 (only Ç is)', 'ç', { encoding: 'ucs2', units: 1, segments: 1 }],
    ['UCS-2 70 fits one', 'я'.repeat(70), { encoding: 'ucs2', units: 70, segments: 1 }],
    ['UCS-2 71 needs two', 'я'.repeat(71), { encoding: 'ucs2', units: 71, segments: 2 }],
    ['emoji are 2 units: 35 fit one', '😀'.repeat(35), { encoding: 'ucs2', units: 70, segments: 1 }],
    ['36 emoji need two', '😀'.repeat(36), { encoding: 'ucs2', units: 72, segments: 2 }],
    // 66 units then an emoji: 67 per segment would split the pair; it moves whole to segment 2.
    ['surrogate pair at a segment boundary moves whole', 'я'.repeat(66) + '😀' + 'я'.repeat(66), { encoding: 'ucs2', units: 134, segments: 3 }],
    ['without the split, 134 units fit two', 'я'.repeat(67) + '😀' + 'я'.repeat(65), { encoding: 'ucs2', units: 134, segments: 2 }],
    ['one emoji turns GSM text into UCS-2', 'a'.repeat(69) + '😀', { encoding: 'ucs2', units: 71, segments: 2 }],
  ];
  for (const [name, text, want] of cases) it(name, () => expect(countSmsSegments(text)).toEqual(want));
});

// A straightforward reference: split into atoms (code points, or escape pairs), then fill segments one by one.
function reference(text: string): SmsCount {
  const atoms = Array.from(text);
  const gsm = atoms.every((a) => GSM7_BASIC.includes(a) || GSM7_EXTENSION.includes(a));
  const weight = (a: string) => (gsm ? (GSM7_EXTENSION.includes(a) ? 2 : 1) : a.length);
  const units = atoms.reduce((s, a) => s + weight(a), 0);
  const single = gsm ? 160 : 70;
  const per = gsm ? 153 : 67;
  if (units === 0) return { encoding: 'gsm7', units: 0, segments: 0 };
  if (units <= single) return { encoding: gsm ? 'gsm7' : 'ucs2', units, segments: 1 };
  const segments: string[][] = [[]];
  let used = 0;
  for (const a of atoms) {
    if (used + weight(a) > per) {
      segments.push([]);
      used = 0;
    }
    segments[segments.length - 1].push(a);
    used += weight(a);
  }
  // Invariants of the split itself: it loses nothing and no segment is over capacity.
  expect(segments.flat().join('')).toBe(text);
  for (const s of segments) expect(s.reduce((n, a) => n + weight(a), 0)).toBeLessThanOrEqual(per);
  return { encoding: gsm ? 'gsm7' : 'ucs2', units, segments: segments.length };
}

describe('countSmsSegments against the reference (property)', () => {
  const gsmChar = fc.oneof(fc.constantFrom(...GSM7_BASIC), fc.constantFrom(...GSM7_EXTENSION));
  const anyChar = fc.oneof(
    { weight: 8, arbitrary: gsmChar },
    { weight: 1, arbitrary: fc.constantFrom('😀', '👍🏽', 'я', 'ç', '’', '…', '中') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  );
  // Runs of one character reach segment boundaries far more often than independent characters do, so pairs
  // (escape or surrogate) land on a boundary in many runs.
  const text = (unit: fc.Arbitrary<string>) =>
    fc
      .array(fc.tuple(unit, fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 60, max: 160 }))), { maxLength: 8 })
      .map((runs) => runs.map(([c, n]) => c.repeat(n)).join(''));

  it('agrees on GSM-7 text', () => {
    fc.assert(fc.property(text(gsmChar), (t) => {
          expect(countSmsSegments(t)).toEqual(reference(t));
        }),
      { numRuns: 1000 },
    );
  });

  it('agrees on mixed text', () => {
    fc.assert(fc.property(text(anyChar), (t) => {
          expect(countSmsSegments(t)).toEqual(reference(t));
        }),
      { numRuns: 1000 },
    );
  });

  it('appending never lowers the count', () => {
    fc.assert(
      fc.property(text(anyChar), anyChar, (t, c) => {
        const before = countSmsSegments(t);
        const after = countSmsSegments(t + c);
        expect(after.segments).toBeGreaterThanOrEqual(before.segments);
      }),
      { numRuns: 1000 },
    );
  });
});
