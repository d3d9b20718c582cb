// Diagnostic codes of templates (HER3xxx, DESIGN §8). Codes are stable: never renumber or reuse one; add new
// ones at the end. TEMPLATE_CODES is the source of the README table.

export const TEMPLATE_CODE = {
  syntaxError: 'HER3001',
  unknownVariable: 'HER3002',
  unknownHelper: 'HER3003',
  wrongArity: 'HER3004',
  invalidArgument: 'HER3005',
  eventWithoutTrigger: 'HER3006',
  unknownEventType: 'HER3007',
  unsupported: 'HER3008',
  notPrintable: 'HER3009',
  blockMisuse: 'HER3010',
  fileMissing: 'HER3011',
  missingUnsubscribe: 'HER3012',
  smsTooLong: 'HER3013',
  smsUcs2: 'HER3014',
  unescapedHtml: 'HER3015',
  missingBody: 'HER3016',
  renderFailed: 'HER3017',
} as const;

export type TemplateCode = (typeof TEMPLATE_CODE)[keyof typeof TEMPLATE_CODE];

export const TEMPLATE_CODES: readonly { code: TemplateCode; title: string }[] = [
  { code: 'HER3001', title: 'Template syntax error' },
  { code: 'HER3002', title: 'Unknown variable (attribute, field, block param or @data name)' },
  { code: 'HER3003', title: 'Unknown helper' },
  { code: 'HER3004', title: 'Wrong number of helper arguments' },
  { code: 'HER3005', title: 'Invalid helper argument (wrong type, unknown hash key, or a literal was required)' },
  { code: 'HER3006', title: 'event.<prop> used in a template that no event triggers' },
  { code: 'HER3007', title: 'Unknown event type (in `recent`, or as the triggering event)' },
  { code: 'HER3008', title: 'Unsupported construct (partials, decorators, `lookup`, `log`)' },
  { code: 'HER3009', title: 'An object or list printed as text' },
  { code: 'HER3010', title: 'Block misused (block helper written inline, inline helper as a block, #each over a non-list)' },
  { code: 'HER3011', title: 'Template file not found' },
  { code: 'HER3012', title: 'Marketing email without an unsubscribe link (`{{unsubscribe_url}}`)' },
  { code: 'HER3013', title: 'SMS fixed text alone exceeds the segment budget (warning)' },
  { code: 'HER3014', title: 'SMS fixed text forces UCS-2 encoding (warning)' },
  { code: 'HER3015', title: 'Unescaped output `{{{…}}}` in an HTML body (warning)' },
  { code: 'HER3016', title: 'Email template has neither an html nor a text body' },
  { code: 'HER3017', title: 'Rendering failed (the render context broke its contract)' },
];
