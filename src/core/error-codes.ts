// The stable error codes of the whole product. A code, once published, keeps its meaning and
// status; docs/errors.md is generated from this table (`npm run docs:errors`) and a test fails
// when the two disagree or when source code uses a code that is not listed here.
export const ERROR_CODES = {
  // Request shape
  FALAJ_VALIDATION: {
    status: 400,
    description:
      'The request body, query or parameters do not match the route schema (wrong type, missing or unknown field).',
  },
  FALAJ_MALFORMED_JSON: { status: 400, description: 'The request body is not valid JSON.' },
  FALAJ_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    description: 'The Content-Type of the request is not accepted by this route.',
  },
  FALAJ_PAYLOAD_TOO_LARGE: {
    status: 413,
    description: 'The request body exceeds the size limit of the route.',
  },
  FALAJ_ROUTE_NOT_FOUND: { status: 404, description: 'No route matches the method and URL.' },
  FALAJ_NOT_FOUND: {
    status: 404,
    description: 'The addressed object does not exist (or is not visible to the caller).',
  },
  FALAJ_CONFLICT: {
    status: 409,
    description: 'The object already exists, or the change conflicts with its current state.',
  },
  FALAJ_INVALID_PATH: {
    status: 400,
    description: 'An artifact path is absolute, contains `..`, a NUL byte, a backslash or an empty segment.',
  },
  FALAJ_INVALID_ARGUMENT: {
    status: 400,
    description:
      'A value passed schema validation but is not acceptable (for example a role that does not exist, an expiry in the past).',
  },
  // Identity and access
  FALAJ_UNAUTHENTICATED: {
    status: 401,
    description: 'The request carries no credentials, or credentials that are not valid.',
  },
  FALAJ_INVALID_CREDENTIALS: { status: 401, description: 'Wrong username or password.' },
  FALAJ_TOKEN_EXPIRED: { status: 401, description: 'The API token or session has expired.' },
  FALAJ_TOKEN_REVOKED: { status: 401, description: 'The API token has been revoked.' },
  FALAJ_TOTP_REQUIRED: {
    status: 401,
    description: 'The account has MFA enabled: the login needs a TOTP code or a recovery code.',
  },
  FALAJ_TOTP_INVALID: { status: 401, description: 'The TOTP code or recovery code is wrong.' },
  FALAJ_TOTP_REPLAYED: { status: 401, description: 'The TOTP code was already used; wait for the next one.' },
  FALAJ_LOGIN_THROTTLED: {
    status: 429,
    description:
      'Too many failed logins for this account (from this address, or from all together), or too many attempts waiting at once: wait `details.retryAfterSeconds` before trying again.',
  },
  FALAJ_ACCOUNT_LOCKED: {
    status: 423,
    description:
      'Too many failed logins from this address: the account is locked for this address until `details.lockedUntil` (other addresses are only slowed down).',
  },
  FALAJ_ACCOUNT_DISABLED: { status: 403, description: 'The account has been disabled by an administrator.' },
  FALAJ_FORBIDDEN: {
    status: 403,
    description: 'The identity is valid but lacks the permission the route needs.',
  },
  FALAJ_MFA_REQUIRED: {
    status: 403,
    description:
      'MFA is required for every user and this account has not enrolled: only MFA enrolment is allowed.',
  },
  FALAJ_MFA_STATE: {
    status: 409,
    description: 'The MFA operation does not fit the account state (already enabled, or not enrolled).',
  },
  FALAJ_ROLE_EXCEEDS_GRANTOR: {
    status: 403,
    description: 'A token or membership cannot be given a role above the granting identity’s own role.',
  },
  FALAJ_LAST_OWNER: {
    status: 409,
    description: 'The change would leave the platform without an active owner.',
  },
  // Artifacts and keys
  FALAJ_ARTIFACT_INTEGRITY: {
    status: 500,
    description:
      'Stored artifact bytes failed authentication or their content hash: the data was altered at rest and is not returned.',
  },
  FALAJ_KEY_UNAVAILABLE: {
    status: 500,
    description: 'The key-encryption key version that wraps an object is missing from the keyring.',
  },
  // Data, training and statistics
  FALAJ_DATA_INVALID: {
    status: 400,
    description:
      'Input data cannot be used as asked (missing or mistyped column, bad target, ragged or unreadable file); `details` names the file, column and row where they apply.',
  },
  FALAJ_DATA_NOT_USABLE: {
    status: 409,
    description:
      'The dataset version failed its validation suite: it cannot feed training until a new version passes or a project admin overrides it.',
  },
  FALAJ_MODEL_INVALID: {
    status: 400,
    description:
      'A model file is corrupt, of an unknown format version, or does not fit the data it is applied to (wrong column set).',
  },
  // Platform
  FALAJ_STORE_UNAVAILABLE: { status: 503, description: 'The metadata store does not answer.' },
  FALAJ_CONFIG: {
    status: 500,
    description:
      'The server or CLI configuration is invalid (for example plain HTTP on a non-loopback address without --insecure-http, or no job sandbox on this machine: install bubblewrap).',
  },
  FALAJ_AUDIT_CHAIN_BROKEN: {
    status: 500,
    description:
      '`falaj audit verify` found an edited, dropped or reordered audit event, or a checkpoint that no longer matches.',
  },
  FALAJ_UNREACHABLE: {
    status: 503,
    description: 'Reported by the CLI and SDKs when the server cannot be reached at all.',
  },
  FALAJ_INTERNAL: {
    status: 500,
    description: 'An unexpected server error; the log holds the details under the request id.',
  },
} as const satisfies Record<string, { status: number; description: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;
