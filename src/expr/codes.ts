// Diagnostic codes of the expression language (HER2xxx, DESIGN §8). Codes are stable: never renumber or
// reuse one; add new ones at the end. EXPR_CODES is the source of the README table.

export const EXPR_CODE = {
  syntaxError: 'HER2001',
  invalidLiteral: 'HER2002',
  invalidDuration: 'HER2003',
  unknownName: 'HER2004',
  unknownFunction: 'HER2005',
  wrongArity: 'HER2006',
  invalidArgument: 'HER2007',
  typeMismatch: 'HER2008',
  unknownEventType: 'HER2009',
  unknownEventProp: 'HER2010',
  nonNumericAggregate: 'HER2011',
  unknownSegment: 'HER2012',
  eventOutsideJourney: 'HER2013',
  invalidDate: 'HER2014',
  notConfigured: 'HER2015',
  notAllowedInFilter: 'HER2016',
  wrongResultType: 'HER2017',
  nullComparison: 'HER2018',
  eventPropOutsideAggregate: 'HER2019',
} as const;

export type ExprCode = (typeof EXPR_CODE)[keyof typeof EXPR_CODE];

export const EXPR_CODES: readonly { code: ExprCode; title: string }[] = [
  { code: 'HER2001', title: 'Syntax error' },
  { code: 'HER2002', title: 'Invalid literal (unterminated string, bad escape, number out of range)' },
  { code: 'HER2003', title: 'Invalid duration (units: w d h m s ms, largest first)' },
  { code: 'HER2004', title: 'Unknown name (attribute, or a field of rfm / clv / profile)' },
  { code: 'HER2005', title: 'Unknown function' },
  { code: 'HER2006', title: 'Wrong number of arguments' },
  { code: 'HER2007', title: 'Invalid argument (unknown named argument, or a constant was required)' },
  { code: 'HER2008', title: 'Type mismatch' },
  { code: 'HER2009', title: 'Unknown event type' },
  { code: 'HER2010', title: 'Unknown event prop' },
  { code: 'HER2011', title: 'Aggregate of a non-numeric prop' },
  { code: 'HER2012', title: 'Unknown segment' },
  { code: 'HER2013', title: 'event.<prop> used outside a journey entered by an event' },
  { code: 'HER2014', title: 'Invalid date literal' },
  { code: 'HER2015', title: 'rfm / ltv / clv used but not configured in the project' },
  { code: 'HER2016', title: "Not allowed in an aggregate's where: (only the event's props and constants)" },
  { code: 'HER2017', title: 'Expression has the wrong result type (e.g. a condition that is not bool)' },
  { code: 'HER2018', title: 'Comparison with null is always null (warning; use `is null`)' },
  { code: 'HER2019', title: 'E.prop used outside an aggregate' },
];
