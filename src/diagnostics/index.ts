export * from './diagnostic.js';
export * from './source-text.js';
export * from './suggest.js';
