// Turning what @qdrant/js-client-rest throws into the gateway's errors.
//
// The client throws:
// - an ApiError-like object ({ status, statusText, data }) for any non-2xx answer,
//   `data` being Qdrant's `{"status":{"error":"..."}}` body;
// - QdrantClientTimeoutError when our `timeout` aborted the request;
// - QdrantClientResourceExhaustedError for a 429 with Retry-After;
// - QdrantClientUnexpectedResponseError for a 2xx other than 200/201;
// - fetch's TypeError('fetch failed', { cause }) when the server cannot be reached.
//
// Everything that means "Qdrant cannot serve us right now" becomes providerDown
// (HTTP 503 VG_PROVIDER_DOWN naming qdrant): transport failures, timeouts, 5xx,
// 429, 401/403 (a wrong QDRANT_API_KEY is an outage from the caller's point of
// view) and 404 (the collection was deleted under us and could not be recreated:
// see isCollectionMissing and the provider's recovery). Any other 4xx means the
// gateway sent something Qdrant refuses, i.e. our bug: it stays a 500.
import {
  QdrantClientResourceExhaustedError,
  QdrantClientTimeoutError,
  QdrantClientUnexpectedResponseError
} from '@qdrant/js-client-rest'
import { InternalError, providerDown, providerTimeout } from '../../errors.ts'

export const PROVIDER = 'qdrant'

interface ApiErrorLike {
  status: number
  statusText?: string
  data?: unknown
}

export function isApiError(err: unknown): err is ApiErrorLike {
  return err instanceof Error && typeof (err as { status?: unknown }).status === 'number' && 'data' in err
}

/** HTTP status of a Qdrant error answer, or undefined when there was no answer. */
export function qdrantStatus(err: unknown): number | undefined {
  return isApiError(err) ? err.status : undefined
}

/** Qdrant's own error text (`status.error`), else the HTTP reason. */
export function qdrantMessage(err: ApiErrorLike): string {
  const data = err.data as { status?: { error?: unknown } } | string | undefined
  if (typeof data === 'object' && data !== null && typeof data.status?.error === 'string') return data.status.error
  if (typeof data === 'string' && data.length > 0) return data.slice(0, 200)
  return err.statusText ?? ''
}

function transportReason(err: Error): string {
  // undici puts the socket error (ECONNREFUSED, ECONNRESET, ...) in `cause`,
  // sometimes wrapped in an AggregateError.
  let cause = (err as { cause?: unknown }).cause
  if (cause instanceof AggregateError && cause.errors.length > 0) cause = cause.errors[0]
  const code = (cause as { code?: unknown } | undefined)?.code
  const detail = cause instanceof Error ? cause.message : undefined
  return [
    err.message,
    typeof code === 'string' ? code : undefined,
    detail !== undefined && !detail.includes(String(code)) ? detail : undefined
  ]
    .filter(s => s !== undefined && s !== '')
    .join(': ')
}

/**
 * Qdrant's answer when the collection itself is gone: 404 "Not found: Collection
 * `name` doesn't exist!" (other 404s, e.g. a fault or a missing index, do not match).
 */
export function isCollectionMissing(err: unknown): boolean {
  return isApiError(err) && err.status === 404 && /collection\b.*(doesn't|does not|not) exist/i.test(qdrantMessage(err))
}

/**
 * Maps an error thrown by a client call (`what` names the operation, for the
 * message) to the gateway error to throw.
 */
export function mapQdrantError(what: string, err: unknown, timeoutMs: number): Error {
  if (isApiError(err)) {
    const status = err.status
    const message = `${what}: Qdrant answered HTTP ${status}${qdrantMessage(err) !== '' ? ` (${qdrantMessage(err)})` : ''}`
    if (status >= 500 || status === 429 || status === 408)
      return providerDown(PROVIDER, new Error(message, { cause: err }))
    if (status === 401 || status === 403) {
      return providerDown(PROVIDER, new Error(`${message}; check QDRANT_API_KEY`, { cause: err }))
    }
    if (status === 404) return providerDown(PROVIDER, new Error(message, { cause: err }))
    return new InternalError(`Qdrant rejected ${message}`, { cause: err })
  }
  if (err instanceof QdrantClientTimeoutError) {
    return providerTimeout(PROVIDER, new Error(`${what}: no answer within ${timeoutMs} ms`, { cause: err }))
  }
  if (err instanceof QdrantClientResourceExhaustedError) {
    return providerDown(
      PROVIDER,
      new Error(`${what}: Qdrant answered HTTP 429 (rate limited, retry after ${err.retry_after} s)`, { cause: err })
    )
  }
  if (err instanceof QdrantClientUnexpectedResponseError) {
    return providerDown(PROVIDER, new Error(`${what}: ${err.message}`, { cause: err }))
  }
  if (err instanceof Error) {
    // Anything else thrown from inside a client call is a failure to talk to the
    // server: refused or reset connections, DNS, TLS, a body cut short.
    return providerDown(PROVIDER, new Error(`${what}: ${transportReason(err)}`, { cause: err }))
  }
  return providerDown(PROVIDER, new Error(`${what}: ${String(err)}`))
}
