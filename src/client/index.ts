// The HTTP client of a Falaj server, shared by the CLI, the SDK and the job agent (and nothing
// here imports from any of them).
export {
  type CliConfigFile,
  type Connection,
  type ConnectionSettings,
  cliConfigPath,
  readCliConfig,
  resolveConnection,
  writeCliConfig,
} from './config.js';
export { errorFromBody, FalajApiError } from './errors.js';
export {
  type BinaryResponse,
  type ClientOptions,
  FalajClient,
  type RawBody,
  type RequestOptions,
  type RetryPolicy,
} from './http-client.js';
export { parseJson } from './json.js';
