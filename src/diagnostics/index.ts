export * from './diagnostic.js';
export * from './source-text.js';
