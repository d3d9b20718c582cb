// One "did you mean" for every layer lives in diagnostics/ (the lowest module).
export { closest, didYouMean, editDistance } from '../diagnostics/suggest.js';
