// Population-level inputs for the plan: the CLV models fitted once on the history before `now`, and RFM
// quintile boundaries computed once at `now`; both held fixed over the simulated window (the engine
// refits on its own schedule). A customer's own r/f/m values still move with their events.
import { clvInputValues, fitClv, type ClvFit } from '../analytics/clv/index.js';
import { computeRfm, RFM_SEGMENTS } from '../analytics/rfm.js';
import type { Project } from '../config/model.js';
import { projectInputs } from '../config/project-inputs.js';
import type { Dataset } from '../dataset/dataset.js';
import type { ClvInput, InputValue, RfmInput } from '../model/inputs.js';
import type { DerivedProvider } from './customer-inputs.js';

/**
 * Fits already made on a dataset: a plan simulates head and base over the same dataset and instant, and
 * a fit is a pure function of the transactions, the unit and the instant (both sides get the same one).
 */
const fits = new WeakMap<Dataset, Map<string, ClvFit>>();

function clvFitOf(dataset: Dataset, transactions: Parameters<typeof fitClv>[0], settings: Parameters<typeof fitClv>[1], key: string, now: number): ClvFit {
  let byKey = fits.get(dataset);
  if (!byKey) fits.set(dataset, (byKey = new Map()));
  const k = `${key} ${settings.unitMs} ${now}`;
  let fit = byKey.get(k);
  if (!fit) byKey.set(k, (fit = fitClv(transactions, settings, now)));
  return fit;
}

export function derivedProvider(project: Project, dataset: Dataset, now: number): DerivedProvider {
  const inputs = projectInputs(project);
  const provider: DerivedProvider = {};
  if (inputs.some((i) => i.kind === 'rfm') && project.model.rfm) {
    // Quintiles over the population at the start of the window, held for the horizon (see README).
    const scores = computeRfm(dataset, now, project.model.rfm);
    provider.rfm = (customer: number, spec: RfmInput): InputValue => {
      if (!scores || scores.r[customer] === 0) return null;
      switch (spec.field) {
        case 'r':
          return scores.r[customer];
        case 'f':
          return scores.f[customer];
        case 'm':
          return scores.m[customer];
        case 'score':
          return scores.r[customer] * 100 + scores.f[customer] * 10 + scores.m[customer];
        case 'segment':
          return RFM_SEGMENTS[scores.segment[customer]] ?? null;
      }
    };
  }
  const clvSpecs = inputs.filter((i): i is ClvInput => i.kind === 'clv');
  if (clvSpecs.length && project.model.clv) {
    const settings = project.model.clv;
    const table = dataset.eventTable(settings.transaction.event);
    const amount = table?.props.get(settings.transaction.prop);
    let fit: ClvFit | undefined;
    const values = new Map<string, Float64Array>();
    if (table && amount?.kind === 'number') {
      const key = `${settings.transaction.event}.${settings.transaction.prop}`;
      fit = clvFitOf(dataset, { offsets: table.offsets, ts: table.ts, amount: amount.values }, settings, key, now);
    }
    // Conditions over everyone ask for one key a million times in a row: the last column is kept at hand.
    let lastKey = '';
    let lastColumn: Float64Array | undefined;
    provider.clv = (customer: number, key: string): InputValue => {
      if (!fit?.ok) return null;
      let column = key === lastKey ? lastColumn : values.get(key);
      if (!column) {
        const spec = clvSpecs.find((s) => s.key === key);
        if (!spec) return null;
        column = clvInputValues(fit, fit.summary, spec);
        values.set(key, column);
      }
      lastKey = key;
      lastColumn = column;
      const v = column[customer];
      return Number.isFinite(v) ? v : null;
    };
  }
  return provider;
}
