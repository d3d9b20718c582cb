// Stable diagnostic codes of the data layer (DESIGN §8: HER5xxx is data). HER58xx/59xx belong to the CLV
// module. The README's code table is generated from this list, so every code used in src/dataset has a row.

export interface DatasetCode {
  code: string;
  title: string;
}

export const DATASET_CODES: readonly DatasetCode[] = [
  { code: 'HER5001', title: 'Dataset directory or a required file (customers, events) not found' },
  { code: 'HER5002', title: 'Both a .csv and a .ndjson version of a dataset file exist' },
  { code: 'HER5003', title: 'Dataset file cannot be read' },
  { code: 'HER5010', title: 'Required column missing from the header' },
  { code: 'HER5011', title: 'Column or key not declared in the data model (ignored)' },
  { code: 'HER5012', title: 'Row has the wrong number of fields' },
  { code: 'HER5013', title: 'Malformed CSV quoting or malformed JSON line' },
  { code: 'HER5020', title: 'Customer row without an id' },
  { code: 'HER5021', title: 'Duplicate customer id (the first row wins)' },
  { code: 'HER5022', title: 'Customer attribute value does not match its declared type' },
  { code: 'HER5030', title: 'Event without a customer id' },
  { code: 'HER5031', title: 'Event for a customer that is not in the customers file' },
  { code: 'HER5032', title: 'Unknown event type' },
  { code: 'HER5033', title: 'Unparsable timestamp' },
  { code: 'HER5034', title: 'Events file not sorted by time' },
  { code: 'HER5035', title: 'Event props are not a JSON object' },
  { code: 'HER5036', title: 'Event prop value does not match its declared type' },
  { code: 'HER5037', title: 'Event prop not declared for its event type (ignored)' },
  { code: 'HER5040', title: 'Product row without an id' },
  { code: 'HER5041', title: 'Duplicate product id (the first row wins)' },
  { code: 'HER5042', title: 'Product field value has the wrong type' },
  { code: 'HER5050', title: 'Dataset cache unreadable or stale (rebuilt from the files)' },
  { code: 'HER5060', title: 'Segment dependency cycle' },
  { code: 'HER5061', title: 'Segment refers to an unknown segment (evaluates to false)' },
  { code: 'HER5100', title: 'Import mapping file invalid' },
  { code: 'HER5101', title: 'Import source file not found or unreadable' },
  { code: 'HER5102', title: 'Import source column missing' },
  { code: 'HER5103', title: 'Import source value unparsable (row skipped)' },
  { code: 'HER5104', title: 'Import rows skipped by a mapping rule (counted)' },
  { code: 'HER5105', title: 'Cancellation rows handled by the mapping (dropped or turned into refunds)' },
  { code: 'HER5200', title: 'Sample generator option out of range' },
];

export type DatasetCodeId = (typeof DATASET_CODES)[number]['code'];
