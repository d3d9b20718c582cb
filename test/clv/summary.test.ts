import { describe, expect, it } from 'vitest';
import { MS_PER_DAY, summarizeTransactions, transactionsFromRows } from '../../src/analytics/clv/summary.js';
import { customerIndex, loadCdnowSample, WEEK } from './support/cdnow.js';

const day = (d: number, hour = 0): number => Date.UTC(2024, 0, 1) + d * MS_PER_DAY + hour * 3_600_000;

describe('summarizeTransactions', () => {
  // Customer 0: days 0 (two orders), 3, 3, 10 (unknown amount), 14; calibration ends at day 15; holdout to day 29.
  // Customer 1: one order on day 5. Customer 2: first order in the holdout (not in the cohort). Customer 3: none.
  const rows = [
    [0, day(0, 9), 10],
    [0, day(0, 18), 5],
    [0, day(3, 10), 20],
    [0, day(3, 11), 2],
    [0, day(10), Number.NaN],
    [0, day(14, 23), 30],
    [0, day(20), 7],
    [0, day(20, 5), 1],
    [0, day(27), 3],
    [0, day(40), 3],
    [1, day(5), 99],
    [2, day(16), 50],
    [2, day(18), 50],
  ];
  const tx = transactionsFromRows(
    rows.map((r) => r[0]),
    rows.map((r) => r[1]),
    rows.map((r) => r[2]),
    4,
  );
  const s = summarizeTransactions(tx, { unitMs: WEEK, calibrationEnd: day(15), holdoutEnd: day(29) });

  it('counts repeat transaction days, one per day, in the time unit', () => {
    expect(s.inCohort[0]).toBe(1);
    expect(s.x[0]).toBe(3); // days 3, 10, 14
    expect(s.tx[0]).toBeCloseTo(14 / 7, 12);
    expect(s.T[0]).toBeCloseTo(14 / 7, 12); // last calibration day (14) − first day (0)
    expect(s.firstDay[0]).toBe(day(0) / MS_PER_DAY);
  });

  it('averages the repeat days with a known value (the first day left out)', () => {
    expect(s.mxCount[0]).toBe(2); // day 10 has no known amount
    expect(s.mx[0]).toBeCloseTo((22 + 30) / 2, 12);
  });

  it('counts holdout transaction days', () => {
    expect(s.holdoutX[0]).toBe(2); // days 20 and 27; day 40 is after the holdout
    expect(Array.from(s.holdoutDays.days.subarray(s.holdoutDays.offsets[0], s.holdoutDays.offsets[1]))).toEqual([
      day(20) / MS_PER_DAY,
      day(27) / MS_PER_DAY,
    ]);
  });

  it('gives a one-time buyer x = 0, t_x = 0 and its age', () => {
    expect([s.x[1], s.tx[1], s.mx[1], s.mxCount[1]]).toEqual([0, 0, 0, 0]);
    expect(s.T[1]).toBeCloseTo(9 / 7, 12);
  });

  it('leaves customers first seen after the calibration end, or never, out of the cohort', () => {
    expect(s.inCohort[2]).toBe(0);
    expect(s.T[2]).toBeNaN();
    expect(s.holdoutX[2]).toBe(0);
    expect(s.inCohort[3]).toBe(0);
  });

  it('rounds a calibration end inside a day up to the next midnight', () => {
    const mid = summarizeTransactions(tx, { unitMs: WEEK, calibrationEnd: day(14, 12) });
    expect(mid.x[0]).toBe(3);
    expect(mid.T[0]).toBeCloseTo(2, 12);
    expect(mid.holdoutEndDay).toBe(mid.calibrationEndDay);
  });

  it('sorts a customer whose transactions arrive out of order', () => {
    const unsorted = { offsets: Int32Array.from([0, 3]), ts: Float64Array.from([day(7), day(0), day(2)]), amount: Float64Array.from([1, 2, 3]) };
    const u = summarizeTransactions(unsorted, { unitMs: MS_PER_DAY, calibrationEnd: day(8) });
    expect([u.x[0], u.tx[0], u.T[0], u.mx[0]]).toEqual([2, 7, 7, 2]);
  });
});

describe('CDNOW sample summary (Fader, Hardie & Lee 2005 conventions)', () => {
  const { data, summary: s } = loadCdnowSample();
  const count = (pred: (i: number) => boolean): number => {
    let n = 0;
    for (let i = 0; i < s.n; i++) if (pred(i)) n++;
    return n;
  };

  it('has the 2,357 customers of the cohort and the 946 repeat buyers of the papers', () => {
    expect(data.customerIds.length).toBe(2357);
    expect(count((i) => s.inCohort[i] === 1)).toBe(2357);
    expect(count((i) => s.x[i] > 0)).toBe(946);
  });

  it("reproduces Hardie's summary rows (x, t_x, T, mean repeat spend)", () => {
    // From Hardie's CDNOW summary file as shipped by lifetimes (cdnow_customers_summary_with_transactions.csv).
    const expected: [string, number, number, number, number][] = [
      ['0001', 2, 30.43, 38.86, 22.35],
      ['0002', 1, 1.71, 38.86, 11.77],
      ['0003', 0, 0, 38.86, 0],
      ['0006', 7, 29.43, 38.86, 73.74],
      ['0009', 2, 35.71, 38.86, 25.55],
      ['0011', 5, 24.43, 38.86, 29.44],
    ];
    for (const [id, x, tx, T, mx] of expected) {
      const i = customerIndex(data, id);
      expect(s.x[i]).toBe(x);
      // The file rounds to 2 decimals (22.345 is written 22.35).
      expect(Math.abs(s.tx[i] - tx)).toBeLessThanOrEqual(0.0051);
      expect(Math.abs(s.T[i] - T)).toBeLessThanOrEqual(0.0051);
      expect(Math.abs(s.mx[i] - mx)).toBeLessThanOrEqual(0.0051);
    }
  });

  it('counts 2,457 repeat transactions in weeks 1–39 and 1,882 in weeks 40–78', () => {
    let calib = 0;
    let hold = 0;
    for (let i = 0; i < s.n; i++) {
      calib += s.x[i];
      hold += s.holdoutX[i];
    }
    expect(calib).toBe(2457);
    expect(hold).toBe(1882);
  });
});
