// The MLflow REST shapes the SDK reads and returns, as MLflow names them (snake_case), with
// metric values decoded to numbers (NaN and ±Infinity included).

export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';
export type ViewType = 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';

export interface KeyValue {
  key: string;
  value: string;
}

export interface Metric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

export interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage: 'active' | 'deleted';
  creation_time?: number;
  last_update_time?: number;
  tags?: KeyValue[];
}

export interface RunInfo {
  run_id: string;
  run_uuid?: string;
  run_name?: string;
  experiment_id: string;
  user_id?: string;
  status: RunStatus;
  start_time?: number;
  end_time?: number;
  artifact_uri?: string;
  lifecycle_stage?: string;
}

export interface RunData {
  /** The latest value of each metric key. */
  metrics: Metric[];
  params: KeyValue[];
  tags: KeyValue[];
}

export interface RunRecord {
  info: RunInfo;
  data: RunData;
  inputs?: unknown;
}

export interface SearchRunsOptions {
  experimentIds: readonly string[];
  /** MLflow's filter grammar: `metrics.auc > 0.9 and params.depth = '6'`. */
  filter?: string;
  /** e.g. `['metrics.auc DESC']`. */
  orderBy?: readonly string[];
  maxResults?: number;
  pageToken?: string;
  runViewType?: ViewType;
}

export interface SearchRunsPage {
  runs: RunRecord[];
  nextPageToken?: string;
}

export interface ArtifactFile {
  path: string;
  is_dir: boolean;
  file_size?: number;
}

export interface UploadedArtifact {
  /** The path in the project's artifact store: `runs/<run_id>/artifacts/<artifact path>`. */
  path: string;
  /** SHA-256 of the content, as the server computed it. */
  digest: string;
  size: number;
}
