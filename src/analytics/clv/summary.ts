// Per-customer frequency / recency / age / mean spend in the conventions of the BG/NBD and Gamma-Gamma papers
// (Fader, Hardie & Lee 2005), computed from transactions laid out per customer (CSR).
//
// Conventions (the same as Hardie's CDNOW summary and the `lifetimes` / BTYD packages):
// - Time is counted in whole UTC days. All transactions of a customer on one day are one transaction whose
//   value is the day's total.
// - The first transaction day is the customer's birth; x counts the *repeat* transaction days in the
//   calibration period (days after the first).
// - t_x = (last transaction day − first day), T = (last calibration day − first day), both converted to the
//   project's time unit (days · 86 400 000 / unitMs). So a customer first seen on 1997-01-01 with a
//   calibration ending after 1997-09-30 has T = 272 days = 38.86 weeks, as in Hardie's data.
// - The calibration period is every day before `calibrationEnd`, rounded up to the next UTC midnight (a
//   period ending mid-day includes that day). The holdout is the days from there to `holdoutEnd` (also
//   rounded up).
// - mx is the mean value of the repeat transactions only (the first is left out), as in the Gamma-Gamma
//   note; days whose amounts are all missing (NaN) are left out of mx but still count in x.

export const MS_PER_DAY = 86_400_000;

/** Transactions of n customers: customer i's are ts[offsets[i]] .. ts[offsets[i+1]-1]. */
export interface ClvTransactions {
  /** Length n + 1, non-decreasing, offsets[0] = 0. */
  offsets: Int32Array;
  /** Epoch milliseconds; ascending within each customer is expected (unsorted customers are sorted). */
  ts: Float64Array;
  /** Transaction value; NaN when unknown. */
  amount: Float64Array;
}

export interface ClvPeriods {
  /** The model's time unit in milliseconds (ClvSettings.unitMs). */
  unitMs: number;
  /** End of the calibration period, epoch ms (exclusive; rounded up to a UTC midnight). */
  calibrationEnd: number;
  /** End of the holdout period, epoch ms (exclusive; rounded up to a UTC midnight); absent = no holdout. */
  holdoutEnd?: number;
}

export interface ClvSummary {
  /** Number of customers (rows), including those outside the cohort. */
  n: number;
  unitMs: number;
  /** First day after the calibration period (UTC day number: epoch ms / 86 400 000). */
  calibrationEndDay: number;
  /** First day after the holdout period; equal to calibrationEndDay when there is no holdout. */
  holdoutEndDay: number;
  /** 1 when the customer's first transaction is in the calibration period (the only customers modelled). */
  inCohort: Uint8Array;
  /** Repeat transaction days in the calibration period. */
  x: Float64Array;
  /** Time of the last transaction since the first, in units (0 when x = 0). */
  tx: Float64Array;
  /** Age at the end of the calibration period, in units. NaN outside the cohort. */
  T: Float64Array;
  /** Mean value of the repeat transaction days with a known value (0 when none). */
  mx: Float64Array;
  /** Number of repeat days the mean mx is over. */
  mxCount: Float64Array;
  /** First transaction day (UTC day number); NaN when the customer has no transaction in calibration. */
  firstDay: Float64Array;
  /** Transaction days in the holdout period (all are repeats for a cohort customer). */
  holdoutX: Float64Array;
  /** Holdout transaction days as day numbers, CSR by customer (for tracking charts). */
  holdoutDays: { offsets: Int32Array; days: Int32Array };
  /** Repeat transaction days in calibration as day numbers, CSR by customer. */
  repeatDays: { offsets: Int32Array; days: Int32Array };
}

/** Day number of the first UTC midnight at or after ms. */
export function dayCeil(ms: number): number {
  return Math.ceil(ms / MS_PER_DAY);
}

/** Build the CSR layout from rows (customer index, ts, amount) in any order. */
export function transactionsFromRows(
  customer: ArrayLike<number>,
  ts: ArrayLike<number>,
  amount: ArrayLike<number>,
  nCustomers: number,
): ClvTransactions {
  const m = customer.length;
  const offsets = new Int32Array(nCustomers + 1);
  for (let k = 0; k < m; k++) offsets[customer[k] + 1]++;
  for (let i = 0; i < nCustomers; i++) offsets[i + 1] += offsets[i];
  const fill = offsets.slice(0, nCustomers);
  const order = new Int32Array(m);
  for (let k = 0; k < m; k++) order[fill[customer[k]]++] = k;
  const outTs = new Float64Array(m);
  const outAmount = new Float64Array(m);
  for (let i = 0; i < nCustomers; i++) {
    const seg = Array.from(order.subarray(offsets[i], offsets[i + 1])).sort((p, q) => ts[p] - ts[q] || p - q);
    for (let j = 0; j < seg.length; j++) {
      outTs[offsets[i] + j] = ts[seg[j]];
      outAmount[offsets[i] + j] = amount[seg[j]];
    }
  }
  return { offsets, ts: outTs, amount: outAmount };
}

function isSorted(ts: Float64Array, from: number, to: number): boolean {
  for (let k = from + 1; k < to; k++) if (ts[k] < ts[k - 1]) return false;
  return true;
}

/** Summarise every customer for the calibration period (and holdout, when given). */
export function summarizeTransactions(tx: ClvTransactions, periods: ClvPeriods): ClvSummary {
  const n = tx.offsets.length - 1;
  const unitsPerDay = MS_PER_DAY / periods.unitMs;
  const endDay = dayCeil(periods.calibrationEnd);
  const holdEndDay = periods.holdoutEnd === undefined ? endDay : Math.max(endDay, dayCeil(periods.holdoutEnd));

  const inCohort = new Uint8Array(n);
  const x = new Float64Array(n);
  const txOut = new Float64Array(n);
  const T = new Float64Array(n).fill(Number.NaN);
  const mx = new Float64Array(n);
  const mxCount = new Float64Array(n);
  const firstDay = new Float64Array(n).fill(Number.NaN);
  const holdoutX = new Float64Array(n);
  const holdOffsets = new Int32Array(n + 1);
  const repOffsets = new Int32Array(n + 1);
  // A customer has at most one repeat or holdout day per transaction row.
  const holdDays = new Int32Array(tx.ts.length);
  const repDays = new Int32Array(tx.ts.length);
  let holdCount = 0;
  let repCount = 0;

  for (let i = 0; i < n; i++) {
    let from = tx.offsets[i];
    let to = tx.offsets[i + 1];
    let ts = tx.ts;
    let amount = tx.amount;
    if (!isSorted(ts, from, to)) {
      const idx = Array.from({ length: to - from }, (_, k) => from + k).sort((p, q) => tx.ts[p] - tx.ts[q] || p - q);
      ts = Float64Array.from(idx, (k) => tx.ts[k]);
      amount = Float64Array.from(idx, (k) => tx.amount[k]);
      from = 0;
      to = idx.length;
    }
    let first = Number.NaN;
    let lastDay = Number.NaN;
    let curDay = Number.NaN;
    let curSum = 0;
    let curKnown = false;
    let repeats = 0;
    let spendSum = 0;
    let spendCount = 0;
    let hold = 0;
    // Rows grouped by day; the day being accumulated is closed when the next begins or the rows end
    // (day NaN): one loop, no closure per customer (a million of them cost more than the arithmetic).
    for (let k = from; ; k++) {
      while (k < to && !Number.isFinite(ts[k])) k++;
      let day = Number.NaN;
      if (k < to) {
        day = Math.floor(ts[k] / MS_PER_DAY);
        // Past the holdout, or a first purchase after calibration (not in the cohort): stop.
        if (day >= holdEndDay || (Number.isNaN(first) && day >= endDay)) day = Number.NaN;
      }
      if (day !== curDay) {
        // Close the day being accumulated; it counts as a repeat when it is not the first day.
        if (!Number.isNaN(curDay) && curDay !== first) {
          if (curDay < endDay) {
            repeats++;
            lastDay = curDay;
            repDays[repCount++] = curDay;
            if (curKnown) {
              spendSum += curSum;
              spendCount++;
            }
          } else if (curDay < holdEndDay) {
            hold++;
            holdDays[holdCount++] = curDay;
          }
        }
        if (Number.isNaN(day)) break;
        if (Number.isNaN(first)) {
          first = day;
          lastDay = day;
        }
        curDay = day;
        curSum = 0;
        curKnown = false;
      }
      const v = amount[k];
      if (Number.isFinite(v)) {
        curSum += v;
        curKnown = true;
      }
    }
    if (!Number.isNaN(first)) {
      inCohort[i] = 1;
      firstDay[i] = first;
      x[i] = repeats;
      txOut[i] = (lastDay - first) * unitsPerDay;
      T[i] = (endDay - 1 - first) * unitsPerDay;
      mxCount[i] = spendCount;
      mx[i] = spendCount > 0 ? spendSum / spendCount : 0;
      holdoutX[i] = hold;
    }
    holdOffsets[i + 1] = holdCount;
    repOffsets[i + 1] = repCount;
  }
  return {
    n,
    unitMs: periods.unitMs,
    calibrationEndDay: endDay,
    holdoutEndDay: holdEndDay,
    inCohort,
    x,
    tx: txOut,
    T,
    mx,
    mxCount,
    firstDay,
    holdoutX,
    holdoutDays: { offsets: holdOffsets, days: holdDays.slice(0, holdCount) },
    repeatDays: { offsets: repOffsets, days: repDays.slice(0, repCount) },
  };
}
