export { type ColumnKind, frameFromRecords, type RecordsOptions } from './records.js';
export { checkFile, type FileFormat, formatOf } from './source.js';
export {
  INTEGER_CLASS_LIMIT,
  type LoadedTrainingData,
  type LoadTrainingOptions,
  loadFrame,
  loadTrainingData,
} from './training-data.js';
