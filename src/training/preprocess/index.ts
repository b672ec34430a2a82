export { type EncodedDesign, encode, fitPreprocess, transform } from './fit.js';
export {
  type CategoricalTransform,
  type ColumnTransform,
  designNames,
  designWidth,
  type NumericTransform,
  type PreprocessState,
  parsePreprocessState,
} from './state.js';
