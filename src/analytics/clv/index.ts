// Public surface of the CLV models (BG/NBD + Gamma-Gamma). See README.md in this folder.
export { CLV_CODES, clvCodeTitle, type ClvCode } from './codes.js';
export {
  MS_PER_DAY,
  summarizeTransactions,
  transactionsFromRows,
  type ClvPeriods,
  type ClvSummary,
  type ClvTransactions,
} from './summary.js';
export {
  MIN_REPEAT_BUYERS,
  MIN_SPEND_BUYERS,
  clvInputValues,
  fitClv,
  fitClvSummary,
  type BgNbdFit,
  type ClvFit,
  type ClvFitOptions,
  type GammaGammaFit,
} from './fit.js';
export {
  bgnbdConditionalExpectedPurchases,
  bgnbdDiscountedExpectedPurchases,
  bgnbdExpectedPurchases,
  bgnbdLogLikelihood,
  bgnbdPAlive,
  fitBgNbd,
  type BgNbdData,
  type BgNbdParams,
} from './bgnbd.js';
export { customerValue, fitGammaGamma, gammaGammaExpectedSpend, gammaGammaLogLikelihood, type GammaGammaParams } from './gamma-gamma.js';
export { buildCalibrationReport, renderCalibrationText, type CalibrationReport, type CalibrationOutcome } from './calibration.js';
export { renderCalibrationSvg } from './chart-svg.js';
export {
  buildClvReport,
  renderClvFitLines,
  renderClvReportText,
  summarizeDistribution,
  type ClvReport,
  type ClvReportInput,
  type Distribution,
} from './report.js';
export { parseCdnow, type CdnowData } from './cdnow.js';
