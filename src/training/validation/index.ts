export {
  type CrossValidateOptions,
  type CrossValidationResult,
  crossValidate,
  defaultFolds,
  type FoldResult,
  taskOf,
} from './cross-validate.js';
export { groupKFold, holdoutSplit, kFold, type Split, stratifiedKFold, timeSeriesSplit } from './splits.js';
