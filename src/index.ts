/**
 * browserving — TensorFlow Serving's architecture, serving ONNX models inside the browser.
 *
 * The public API. Everything a user imports comes from here, by name.
 */
export { createServing } from './client/serving-client.js';
export type { CallRequest, CallResponse, CreateServingOptions, LookupRequest, PredictRequest, PredictStreamRequest, Serving, ServingDebug, ServingStorage } from './client/serving-client.js';
export type {
  PlatformCallOptions,
  PlatformLoader,
  PlatformModule,
  PlatformOnnxSession,
  PlatformPredictOptions,
  PlatformServable,
  PlatformVersion,
  ServableApi,
} from './platforms/platform.js';
export type { RunnerInfo } from './client/runner-pool.js';
export { serveHttp } from './client/serve-http.js';
export type { HttpServing, ServeHttpOptions } from './client/serve-http.js';
export { createRequestHandler } from './http/handle.js';
export type { RequestHandler, RequestHandlerOptions } from './http/handle.js';
export type { ServingLike } from './http/serving-like.js';
export { formatPrometheus, PROMETHEUS_CONTENT_TYPE } from './http/prometheus.js';
export type { PrometheusSource } from './http/prometheus.js';
export { LatencyHistogram } from './http/latency-histogram.js';
export { ServingError, isServingError, ERROR_CODES } from './core/serving-error.js';
export type { ErrorCode, ServingErrorDetails, ServingErrorJSON } from './core/serving-error.js';
export type { ManagerState, ServableState, ServableDescription } from './core/servable-state.js';
export type { ServableId } from './core/servable-id.js';
export type { ModelVersionPolicy } from './core/servable-version-policy.js';
export type { VersionPolicyName } from './core/aspired-version-policy.js';
export type {
  BatchingConfig,
  BatchingMetrics,
  ExecutionProvider,
  LatencySummary,
  LookupResponse,
  MetricsSnapshot,
  ModelConfig,
  ModelMetadata,
  ModelMetrics,
  ModelServerConfig,
  ModelStatus,
  ModelVersionStatus,
  PredictResponse,
  RepositoryStatus,
  RuntimeInfo,
  RunnerEvent,
  ServableKind,
  ServerOptions,
  ServingEvent,
  ShardStatus,
  DownloadProgress,
  DownloadState,
  StorageOptions,
  StorageUsage,
  StoredVersion,
  Signature,
  TableValue,
  TensorData,
  TensorSpec,
  TensorType,
  TypedArray,
  VersionSelector,
} from './protocol.js';
export type { Manifest, ManifestFile, ManifestVersion } from './sources/manifest.js';
export type { TableShardEntry } from './sources/table-shards.js';
