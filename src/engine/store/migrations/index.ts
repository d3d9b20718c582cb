// The ordered list of migrations. Static imports rather than a directory scan, so the list survives
// bundling and the compiled dist/; a test checks that every NNN-*.ts file here is listed, in order.
import type { Migration } from '../migrate.js';
import { migration as m001 } from './001-initial.js';
import { migration as m002 } from './002-entry-sweeps.js';
import { migration as m003 } from './003-worker-indexes.js';
import { migration as m004 } from './004-send-time-ledger.js';
import { migration as m005 } from './005-model-fits.js';
import { migration as m006 } from './006-suppressions.js';
import { migration as m007 } from './007-history-revisions.js';

export const MIGRATIONS: readonly Migration[] = [m001, m002, m003, m004, m005, m006, m007];
