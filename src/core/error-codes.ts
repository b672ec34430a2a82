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
  // Model registry
  FALAJ_MODEL_NOT_FOUND: {
    status: 404,
    description: 'No registered model of that name in the project.',
  },
  FALAJ_MODEL_VERSION_NOT_FOUND: {
    status: 404,
    description: 'The registered model has no such version (or no version matches the stage asked for).',
  },
  FALAJ_DEPLOYMENT_INVALID: {
    status: 400,
    description:
      'A deployment change is not acceptable: a missing or malformed model reference, a canary percentage outside (0, 100), an auto-rollback or request-log setting out of range, promoting a canary that does not exist.',
  },
  FALAJ_DEPLOYMENT_NOT_FOUND: {
    status: 404,
    description: 'No deployment of that name in the project (or no such revision of it).',
  },
  FALAJ_DEPLOYMENT_EXISTS: {
    status: 409,
    description: 'A deployment of that name already exists in the project.',
  },
  FALAJ_DEPLOYMENT_MODEL_UNSERVABLE: {
    status: 400,
    description:
      'The model version a deployment names cannot be served: it is not READY, or its files are held outside Falaj (an external source), or it is neither a Falaj model nor ONNX.',
  },
  FALAJ_MODEL_EXISTS: {
    status: 409,
    description:
      "A registered model of that name already exists in the project (MLflow's API answers RESOURCE_ALREADY_EXISTS, 400).",
  },
  FALAJ_ALIAS_NOT_FOUND: {
    status: 404,
    description:
      "The registered model has no such alias (MLflow's API answers INVALID_PARAMETER_VALUE, 400, as MLflow does).",
  },
  FALAJ_ALIAS_INVALID: {
    status: 400,
    description:
      "An alias name breaks MLflow's rules: only letters, digits, `_` and `-`, at most 255 characters; `latest` (any case) and `v<N>` are reserved.",
  },
  FALAJ_ALIAS_PROTECTED: {
    status: 403,
    description:
      "The alias is protected (`production` by default): it moves only through a promotion request, its gates and a second person's approval (`falaj models promote NAME@VERSION --alias ALIAS`).",
  },
  FALAJ_MODEL_URI_INVALID: {
    status: 400,
    description:
      'A model URI is not one of `models:/NAME@ALIAS`, `models:/NAME/N`, `models:/NAME/latest`, `models:/NAME/STAGE`, `NAME@ALIAS` or `NAME@N`.',
  },
  FALAJ_MODEL_SOURCE_INVALID: {
    status: 400,
    description:
      "A model version's source cannot be used: the run is not a run of this project, the path holds no files, or the URI is of an unknown kind.",
  },
  FALAJ_ONNX_INVALID: {
    status: 400,
    description:
      'The uploaded file is not a parseable ONNX model (or has no graph inputs); nothing was stored.',
  },
  // Model registry: the staging step (evaluation, gates, promotion, webhooks)
  FALAJ_EVALUATION_DATA_MISMATCH: {
    status: 400,
    description:
      'The evaluation data does not fit the model: it lacks a column the model takes (or the target, a sensitive or a slice column), or its target holds a class the model does not know; `details` names the columns. Nothing was stored.',
  },
  FALAJ_GATE_POLICY_INVALID: {
    status: 400,
    description:
      'A gate policy cannot be used: not valid YAML or JSON, an unknown field, a check that does not parse, or a metric or fairness measure that does not exist (`details.known` lists them). Nothing was stored.',
  },
  FALAJ_GATES_FAILED: {
    status: 409,
    description:
      'The model version did not pass its gates (`details.failed` names the checks, `details.gateRunId` the stored run): a maintainer cannot approve it; a project admin may override with a written reason.',
  },
  FALAJ_SELF_APPROVAL: {
    status: 403,
    description: 'Four eyes: the person who requested a promotion cannot approve it, nor override its gates.',
  },
  FALAJ_PROMOTION_NOT_PENDING: {
    status: 409,
    description:
      'The promotion request was already decided (approved, rejected or cancelled), possibly by a concurrent call: nothing changed.',
  },
  // Serving: loading a model version into a runtime and predicting with it
  FALAJ_MODEL_CHECKSUM: {
    status: 409,
    description:
      "A model version's downloaded files do not match their recorded SHA-256 digests (or a file the runtime needs is absent or has no digest): nothing was loaded. `details.file` names the file.",
  },
  FALAJ_INFERENCE_FAILED: {
    status: 500,
    description:
      "The model runtime failed while predicting a well-formed request (not the caller's fault); the log holds the underlying error.",
  },
  // Lineage
  FALAJ_LINEAGE_NODE_INVALID: {
    status: 400,
    description:
      'A lineage node is not written `KIND:REF` with a known kind (`model:NAME@V|@ALIAS`, `dataset:NAME@N`, `run:ID`, `job:ID`, `code:DIGEST`, or a stored kind and id such as `model_version:ID`).',
  },
  FALAJ_LINEAGE_NODE_NOT_FOUND: {
    status: 404,
    description:
      'The lineage node names nothing in the project (no such model, version, alias, dataset version, run or job; a code snapshot or file no edge mentions); `details.cause` keeps the underlying code.',
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
