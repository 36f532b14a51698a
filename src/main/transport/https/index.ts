// The HTTPS transport: a fetch client bound to one installation, and its certificate tools.
export { createHttpsClient } from './client';
export type {
  CsrfOptions,
  CsrfSource,
  DownloadOptions,
  DownloadResult,
  HttpResponse,
  HttpsClient,
  HttpsClientOptions,
  ProgressFn,
  RequestOptions,
  UploadOptions,
} from './client';
export { fingerprintDer, normalizeFingerprint, probeTls, type TlsProbe } from './tls-verify';
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry';
