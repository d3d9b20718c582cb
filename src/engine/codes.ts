// Stable codes of the engine (HER7xxx; HER6xxx belongs to channels). Never renumber or reuse one; add new
// ones at the end of their group. ENGINE_CODES is the source of the README table.

export const ENGINE_CODE = {
  // HTTP ingest (HER70xx): every 4xx body is { error: { code, message, field } }.
  unauthorized: 'HER7001',
  invalidJson: 'HER7002',
  bodyTooLarge: 'HER7003',
  batchTooLarge: 'HER7004',
  unsupportedMediaType: 'HER7005',
  missingField: 'HER7006',
  wrongType: 'HER7007',
  invalidValue: 'HER7008',
  invalidTimestamp: 'HER7009',
  unknownEventType: 'HER7010',
  unknownField: 'HER7011',
  propType: 'HER7012',
  notFound: 'HER7013',
  badSignature: 'HER7014',
  noReceiptSecret: 'HER7015',
  badUnsubscribeToken: 'HER7016',
  notOneClick: 'HER7017',
  // Configuration versions (HER71xx).
  staleActive: 'HER7101',
  lockHeld: 'HER7102',
  unknownVersion: 'HER7103',
  ambiguousVersion: 'HER7104',
  filesChanged: 'HER7105',
  fileOutsideRoot: 'HER7106',
  configInvalid: 'HER7107',
  // Store (HER72xx).
  databaseUnavailable: 'HER7201',
  schemaTooNew: 'HER7202',
  dataDirLocked: 'HER7203',
  // Engine process (HER73xx).
  missingToken: 'HER7301',
  internal: 'HER7302',
  cannotListen: 'HER7303',
} as const;

export type EngineCode = (typeof ENGINE_CODE)[keyof typeof ENGINE_CODE];

export const ENGINE_CODES: readonly { code: EngineCode; title: string }[] = [
  { code: 'HER7001', title: 'Missing or wrong bearer token (401)' },
  { code: 'HER7002', title: 'Request body is not valid JSON (400)' },
  { code: 'HER7003', title: 'Request body larger than the limit (413)' },
  { code: 'HER7004', title: 'Batch holds more items than the limit (413)' },
  { code: 'HER7005', title: 'Content-Type is not application/json (415)' },
  { code: 'HER7006', title: 'Required field missing (400)' },
  { code: 'HER7007', title: 'Field has the wrong JSON type (400)' },
  { code: 'HER7008', title: 'Field value invalid: empty, too long or out of range (400)' },
  { code: 'HER7009', title: 'Timestamp is neither ISO-8601 nor epoch milliseconds (400)' },
  { code: 'HER7010', title: 'Event type not declared in the active data model (422)' },
  { code: 'HER7011', title: 'Event prop or customer attribute not declared in the active data model (422)' },
  { code: 'HER7012', title: 'Event prop or customer attribute value does not match its declared type (422)' },
  { code: 'HER7013', title: 'No such route (404)' },
  { code: 'HER7014', title: 'Receipt Herald-Signature missing, malformed, too old or not matching (401)' },
  { code: 'HER7015', title: 'No receipt secret is configured for the channel (404)' },
  { code: 'HER7016', title: 'Unsubscribe link token is malformed or its signature does not match (404)' },
  { code: 'HER7017', title: 'One-click unsubscribe POST body is not List-Unsubscribe=One-Click (400)' },
  { code: 'HER7101', title: 'Stale plan: the active configuration is not the one the plan expected (conflict)' },
  { code: 'HER7102', title: 'Another apply or rollback holds the configuration lock (conflict)' },
  { code: 'HER7103', title: 'Unknown configuration version' },
  { code: 'HER7104', title: 'Version prefix matches more than one configuration version' },
  { code: 'HER7105', title: 'A configuration file changed between loading and applying' },
  { code: 'HER7106', title: 'A configuration file lies outside the project directory' },
  { code: 'HER7107', title: 'Configuration is invalid; nothing was applied' },
  { code: 'HER7201', title: 'Database unavailable' },
  { code: 'HER7202', title: 'Database schema is newer than this engine (upgrade Herald)' },
  { code: 'HER7203', title: 'Embedded database directory is in use by another process' },
  { code: 'HER7301', title: 'HERALD_API_TOKEN is not set' },
  { code: 'HER7302', title: 'Internal engine error (500)' },
  { code: 'HER7303', title: 'Cannot listen on the address (port in use or not permitted)' },
];
