import type { Generated } from 'kysely';

// Row types of every table, as Kysely sees them. Times are milliseconds since the epoch
// (BIGINT on PostgreSQL, INTEGER on SQLite); booleans are 0/1 on both dialects so that
// queries read the same everywhere.
export interface UsersTable {
  id: string;
  username: string;
  password_hash: string;
  is_owner: number;
  disabled: number;
  /** TOTP secret sealed with the keyring (never stored in the clear). */
  mfa_secret: string | null;
  mfa_enabled: number;
  /** The last accepted TOTP time step; a code at or before it is a replay. */
  mfa_last_step: number | null;
  created_at: number;
  updated_at: number;
}

export interface RecoveryCodesTable {
  id: string;
  user_id: string;
  code_hash: string;
  used_at: number | null;
}

/** Failed guesses, per (key, source): see src/security/auth/login-throttle.ts. */
export interface LoginAttemptsTable {
  /** The throttle key: a lower-cased username, or `mfa:<username>` for second-factor codes. */
  username: string;
  /** The client address, or '*' for the row that counts every address of the key. */
  source: string;
  failures: number;
  last_failure_at: number | null;
  /** Only on (key, address) rows; stays set after the lock ends (probation: one failure relocks). */
  locked_until: number | null;
  /** Only on '*' rows: the token of the check in flight for this key, and when it may be taken over. */
  reserved_by: string | null;
  reserved_until: number | null;
}

export interface SessionsTable {
  id: string;
  token_hash: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  last_used_at: number;
  revoked_at: number | null;
}

export interface ProjectsTable {
  id: string;
  name: string;
  description: string;
  created_at: number;
  created_by: string;
}

export interface MembershipsTable {
  project_id: string;
  user_id: string;
  role: string;
  created_at: number;
}

export interface ApiTokensTable {
  id: string;
  name: string;
  token_hash: string;
  user_id: string;
  project_id: string;
  role: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
  /** A job's token: it may write only to this run and runs nested under it (migration 0007). */
  run_id: Generated<string | null>;
  /** An invoke token bound to one deployment of its project, by name (migration 0015). */
  deployment: Generated<string | null>;
}

export interface SettingsTable {
  key: string;
  value: string;
}

export interface AuditEventsTable {
  seq: number;
  id: string;
  time: number;
  actor: string;
  action: string;
  object_type: string;
  object_id: string;
  project_id: string | null;
  source_ip: string;
  outcome: string;
  status: number;
  request_id: string;
  details: string;
  prev_hash: string;
  hash: string;
}

export interface ArtifactsTable {
  project_id: string;
  path: string;
  digest: string;
  size: number;
  content_type: string;
  created_at: number;
  created_by: string;
}

export interface ExperimentsTable {
  id: string;
  project_id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: string;
  creation_time: number;
  last_update_time: number;
  /** 1 for the project's default experiment, MLflow's "0" (migration 0004). */
  is_default: Generated<number>;
}

export interface KeyValueTable {
  key: string;
  value: string;
}

export interface RunsTable {
  id: string;
  experiment_id: string;
  project_id: string;
  name: string;
  user_id: string;
  status: string;
  start_time: number;
  end_time: number | null;
  lifecycle_stage: string;
  artifact_uri: string;
  parent_run_id: string | null;
  deleted_time: number | null;
}

export interface MetricsTable {
  run_id: string;
  key: string;
  step: number;
  timestamp: number;
  /** NULL when is_nan = 1 (SQLite cannot store NaN). */
  value: number | null;
  is_nan: number;
}

/** A run key's points from one logging call, packed (src/tracking/metric-chunk.ts). */
export interface MetricChunksTable {
  id: Generated<number>;
  run_id: string;
  key: string;
  n: number;
  min_step: number;
  max_step: number;
  data: Uint8Array;
}

/** A queue and its quotas (src/jobs/scheduler QueueConfig as JSON). */
export interface QueuesTable {
  name: string;
  config: string;
  created_at: number;
  updated_at: number;
}

export interface JobsTable {
  id: string;
  project_id: string;
  queue: string;
  name: string;
  /** The JobSpec as JSON (secret references only, never values). */
  spec: string;
  state: string;
  priority: number;
  attempt: number;
  run_id: string | null;
  executor: string | null;
  external_id: string | null;
  /** Placement[] as JSON while admitted or running. */
  placements: string | null;
  reason: string | null;
  exit_code: number | null;
  submitted_by: string;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  ended_at: number | null;
  /** A retry waits until then. */
  not_before: number | null;
  /** Set by a cancel of an admitted or running job: its end is then `cancelled`, not a failure. */
  cancel_requested_at: number | null;
  /** Set when the scheduler stops the attempt to free its capacity: its end requeues the job. */
  preempt_requested_at: number | null;
}

export interface JobEventsTable {
  id: Generated<number>;
  job_id: string;
  at: number;
  attempt: number;
  from_state: string | null;
  to_state: string;
  reason: string | null;
}

export interface LeasesTable {
  name: string;
  holder: string;
  expires_at: number;
}

/** A project secret: the value sealed by the keyring (src/security/secrets/project-secrets.ts). */
export interface ProjectSecretsTable {
  project_id: string;
  name: string;
  sealed: string;
  created_by: string;
  created_at: number;
  updated_at: number;
}

export interface DatasetsTable {
  id: string;
  experiment_id: string;
  name: string;
  digest: string;
  source_type: string;
  source: string;
  schema: string | null;
  profile: string | null;
}

export interface RunInputsTable {
  run_id: string;
  dataset_id: string;
  /** JSON array of {key, value}. */
  tags: string;
}

export interface MigrationsTable {
  name: string;
  applied_at: number;
}

export interface Database {
  falaj_migrations: MigrationsTable;
  users: UsersTable;
  recovery_codes: RecoveryCodesTable;
  login_attempts: LoginAttemptsTable;
  sessions: SessionsTable;
  projects: ProjectsTable;
  memberships: MembershipsTable;
  api_tokens: ApiTokensTable;
  settings: SettingsTable;
  audit_events: AuditEventsTable;
  artifacts: ArtifactsTable;
  experiments: ExperimentsTable;
  experiment_tags: KeyValueTable & { experiment_id: string };
  runs: RunsTable;
  params: KeyValueTable & { run_id: string };
  run_tags: KeyValueTable & { run_id: string };
  metric_chunks: MetricChunksTable;
  latest_metrics: MetricsTable;
  queues: QueuesTable;
  jobs: JobsTable;
  job_events: JobEventsTable;
  leases: LeasesTable;
  project_secrets: ProjectSecretsTable;
  datasets: DatasetsTable;
  run_inputs: RunInputsTable;
  data_datasets: DataDatasetsTable;
  data_versions: DataVersionsTable;
  data_column_tags: DataColumnTagsTable;
  data_validations: DataValidationsTable;
  agents: AgentsTable;
  agent_attempts: AgentAttemptsTable;
  agent_tokens: AgentTokensTable;
  agent_log_chunks: AgentLogChunksTable;
  registered_models: RegisteredModelsTable;
  registered_model_tags: KeyValueTable & { model_id: string };
  model_versions: ModelVersionsTable;
  model_version_tags: KeyValueTable & { version_id: string };
  model_aliases: ModelAliasesTable;
  model_evaluations: ModelEvaluationsTable;
  evaluation_requests: EvaluationRequestsTable;
  gate_policies: GatePoliciesTable;
  gate_runs: GateRunsTable;
  promotion_requests: PromotionRequestsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  lineage_edges: LineageEdgesTable;
  deployments: DeploymentsTable;
  deployment_revisions: DeploymentRevisionsTable;
  serving_replicas: ServingReplicasTable;
  serving_log_files: ServingLogFilesTable;
  serving_labels: ServingLabelsTable;
}

/** A project's dataset (src/data/); `suite` is its validation suite as JSON, if any. */
export interface DataDatasetsTable {
  id: string;
  project_id: string;
  name: string;
  description: string;
  suite: string | null;
  created_at: number;
  created_by: string;
}

/** An immutable dataset version: Parquet in the artifact store at `digest` (SHA-256 of its bytes). */
export interface DataVersionsTable {
  id: string;
  dataset_id: string;
  version: number;
  digest: string;
  size: number;
  row_count: number;
  /** JSON: [{name, type}]. */
  schema: string;
  /** JSON: {added, removed, retyped} against the parent version; NULL for the first. */
  schema_diff: string | null;
  /** JSON: the profile (src/data/profile.ts). */
  profile: string;
  /** JSON: {fileName, format, bytes, warnings}. */
  source: string;
  parent_version: number | null;
  /** unvalidated | passed | failed */
  status: string;
  /** JSON: {by, at, reason} when an admin allowed a failed version to feed training. */
  override: string | null;
  created_at: number;
  created_by: string;
}

/** Tags of one column of a dataset (all its versions); `source` is detected or user. */
export interface DataColumnTagsTable {
  dataset_id: string;
  column_name: string;
  /** JSON array of strings. */
  tags: string;
  source: string;
  updated_at: number;
  updated_by: string;
}

export interface DataValidationsTable {
  id: string;
  version_id: string;
  suite: string;
  result: string;
  success: number;
  created_at: number;
  created_by: string;
}

/** A `falaj agent` registered with this server; `capacity` is its NodeCapacity as JSON. */
export interface AgentsTable {
  id: string;
  name: string;
  /** The owner whose credentials registered it. */
  owner: string;
  capacity: string;
  lease_expires_at: number;
  last_seen_at: number;
  created_at: number;
  /** The agent token that registered it; null when an owner's session did. */
  token_id: string | null;
}

/** A running agent attempt's log so far, in the order written (migration 0011). */
export interface AgentLogChunksTable {
  external_id: string;
  offset: number;
  data: Uint8Array;
}

/** Credentials of `falaj agent` (migration 0011); only the SHA-256 of the token is kept. */
export interface AgentTokensTable {
  id: string;
  name: string;
  token_hash: string;
  created_by: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

/** An attempt assigned to an agent; `request` is the LaunchRequest, sealed under the keyring. */
export interface AgentAttemptsTable {
  external_id: string;
  agent_id: string;
  job_id: string;
  attempt: number;
  request: string;
  /** pending | running | succeeded | failed | cancelled | lost, as the agent last reported. */
  state: string;
  exit_code: number | null;
  signal: string | null;
  reason: string | null;
  cancel_requested: number;
  cancel_grace_seconds: number | null;
  /** The uploaded log's blob, once the agent sent it. */
  log_digest: string | null;
  updated_at: number;
}

/** A registered model (src/registry/), per project; `protected_aliases` is a JSON array. */
export interface RegisteredModelsTable {
  id: string;
  project_id: string;
  name: string;
  description: string;
  user_id: string;
  protected_aliases: string;
  created_at: number;
  updated_at: number;
}

/** A model version: its files are under `artifact_path` in the artifact store. */
export interface ModelVersionsTable {
  id: string;
  model_id: string;
  version: number;
  source: string;
  run_id: string | null;
  run_link: string;
  description: string;
  user_id: string;
  /** PENDING_REGISTRATION | FAILED_REGISTRATION | READY */
  status: string;
  status_message: string;
  /** MLflow's deprecated stage: None | Staging | Production | Archived. */
  stage: string;
  artifact_path: string;
  /** 'falaj' (native model directory with model.onnx) | 'onnx' (an uploaded ONNX graph). */
  format: string;
  /** JSON {inputs, outputs}, each [{name, type, shape}]. */
  signature: string | null;
  /** JSON {intended_use?, limitations?}. */
  card: string | null;
  created_at: number;
  updated_at: number;
}

export interface ModelAliasesTable {
  model_id: string;
  alias: string;
  version_id: string;
  updated_at: number;
  updated_by: string;
}

/** One evaluation of a version, immutable; `result` is JSON {metrics, slices, fairness, ...}. */
export interface ModelEvaluationsTable {
  id: string;
  version_id: string;
  /** 'dataset' | 'file' | 'cv' */
  kind: string;
  data_version_id: string | null;
  data_digest: string | null;
  row_count: number | null;
  result: string;
  job_id: string | null;
  created_at: number;
  created_by: string;
}

/** An evaluation run as a job: pending until the job's run-scoped token posts its result. */
export interface EvaluationRequestsTable {
  id: string;
  version_id: string;
  job_id: string;
  run_id: string;
  /** JSON: the resolved request (dataset NAME@N, target, sensitive, slices, options). */
  request: string;
  data_version_id: string | null;
  /** 'pending' | 'done' | 'failed' */
  state: string;
  evaluation_id: string | null;
  error: string | null;
  created_at: number;
  created_by: string;
  ended_at: number | null;
}

/** A revision of a model's gate policy; `policy` is the parsed JSON, `source` what was given. */
export interface GatePoliciesTable {
  model_id: string;
  revision: number;
  policy: string;
  source: string;
  created_at: number;
  created_by: string;
}

/** One run of the gates on a version; `checks` is a JSON array of every check's outcome. */
export interface GateRunsTable {
  id: string;
  version_id: string;
  policy_revision: number | null;
  passed: number;
  checks: string;
  created_at: number;
  created_by: string;
}

export interface PromotionRequestsTable {
  id: string;
  model_id: string;
  version_id: string;
  alias: string;
  /** pending | approved | rejected | cancelled */
  state: string;
  requested_by: string;
  requested_at: number;
  note: string;
  gate_run_id: string | null;
  decided_by: string | null;
  decided_at: number | null;
  decision_reason: string | null;
  override_by: string | null;
  override_reason: string | null;
}

export interface WebhooksTable {
  id: string;
  project_id: string;
  url: string;
  /** JSON array of event names. */
  events: string;
  /** The HMAC key, sealed by the keyring. */
  secret: string;
  active: number;
  created_at: number;
  created_by: string;
}

export interface WebhookDeliveriesTable {
  id: string;
  webhook_id: string;
  event: string;
  payload: string;
  /** pending | delivered | failed */
  state: string;
  attempts: number;
  next_attempt_at: number;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}

/** An edge of the lineage graph (src/lineage/). */
export interface LineageEdgesTable {
  project_id: string;
  from_kind: string;
  from_id: string;
  to_kind: string;
  to_id: string;
  relation: string;
  /** JSON: what the edge carries (a digest, a row count, a path). */
  attrs: string;
  created_at: number;
}

/** A serving endpoint of a project (src/serving/); its configuration is in its revisions. */
export interface DeploymentsTable {
  id: string;
  project_id: string;
  name: string;
  description: string;
  /** The current revision number. */
  revision: number;
  /** 1: callable without a token. */
  public: number;
  /** 'loading' | 'ready' | 'degraded' | 'failed' */
  state: string;
  state_reason: string;
  /** JSON: the versions serving now per variant. */
  serving: string | null;
  created_at: number;
  created_by: string;
  updated_at: number;
}

export interface DeploymentRevisionsTable {
  deployment_id: string;
  revision: number;
  /** JSON DeploymentSpec. */
  spec: string;
  /** 'create' | 'update' | 'rollback' | 'auto-rollback' | 'promote-canary' */
  reason: string;
  details: string | null;
  created_at: number;
  created_by: string;
}

/** A `falaj serve` process's report for one deployment it serves. */
export interface ServingReplicasTable {
  replica_id: string;
  deployment_id: string;
  url: string;
  /** The replica's key, sent with every request a server forwards to it. */
  key: string;
  ready: number;
  revision: number;
  reason: string;
  started_at: number;
  last_seen: number;
}

/** One Parquet file of a deployment's request log, for the hour `hour` starts. */
export interface ServingLogFilesTable {
  id: string;
  project_id: string;
  deployment_id: string;
  hour: number;
  digest: string;
  path: string;
  rows: number;
  bytes: number;
  first_at: number;
  last_at: number;
  created_at: number;
}

/** Ground truth for one row of a logged request, arriving after the prediction. */
export interface ServingLabelsTable {
  deployment_id: string;
  request_id: string;
  row: number;
  /** JSON: a class label or a number. */
  label: string;
  received_at: number;
  received_by: string;
}
