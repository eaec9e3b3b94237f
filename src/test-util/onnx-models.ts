/**
 * Typed access to the ONNX models that `scripts/onnx-models.mjs` generates in code, for tests
 * that run them through the real onnxruntime-web. The script is plain JavaScript outside the
 * TypeScript project, so it is imported by a specifier TypeScript does not resolve and given
 * the types below (they mirror the script's JSDoc).
 */
export interface MlpOptions {
  readonly inputSize?: number;
  readonly hidden?: number;
  readonly outputSize?: number;
  readonly seed?: number;
}

export interface OnnxModels {
  /** y = Identity(x); shape entries are fixed sizes (numbers) or symbolic names (strings). */
  identityModel(options?: { dtype?: 'float32' | 'int32' | 'int64' | 'uint8'; shape?: (number | string)[] }): Uint8Array;
  /** x float32 [batch, inputSize] → Gemm → Relu → Gemm → y float32 [batch, outputSize]. */
  mlpModel(options?: MlpOptions): Uint8Array;
  /** Plain-JS forward pass of `mlpModel(options)`, row-major [batch, outputSize]. */
  mlpReference(x: Float32Array, batch: number, options?: MlpOptions): Float32Array;
  /** sum = a + b, all int64 [n]. */
  addInt64Model(): Uint8Array;
  /** x float32 [batch, 3] → double = 2x, negated = −x. */
  twoOutputModel(): Uint8Array;
  /** ids int32 [n] → scores float32 [classes] (sum of embedding rows), label_id int64 [1] (ArgMax). */
  bagOfWordsModel(options?: BagOfWordsOptions): Uint8Array;
  /** Plain-JS `bagOfWordsModel(options)`. */
  bagOfWordsReference(ids: readonly number[], options?: BagOfWordsOptions): { scores: Float32Array; labelId: number };
  /** A model whose run takes long: x float32 [rows, size] → y. */
  slowModel(options?: { size?: number; repeats?: number; rows?: number; seed?: number }): Uint8Array;
  /** The text classifier of the pipeline tests: vocabulary, labels, the bag-of-words options, pipeline.json. */
  readonly TEXT_CLASSIFIER: {
    readonly words: readonly string[];
    readonly labels: readonly string[];
    model(seed: number): BagOfWordsOptions;
    readonly pipeline: object;
  };
}

export interface BagOfWordsOptions {
  readonly vocab?: number;
  readonly classes?: number;
  readonly seed?: number;
}

const SCRIPT = '../../scripts/onnx-models.mjs';

export function loadOnnxModels(): Promise<OnnxModels> {
  return import(/* @vite-ignore */ SCRIPT) as Promise<OnnxModels>;
}
