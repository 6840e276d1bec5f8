// Every error the gateway answers with, declared once with a stable VG_ code.
// Routes and domain code throw these; the error handler renders them as
// {statusCode, code, error, message}.
import createError from '@fastify/error'

export const BadRequestError = createError('VG_BAD_REQUEST', '%s', 400)
export const InvalidVectorError = createError('VG_INVALID_VECTOR', '%s', 400)
export const InvalidJsonError = createError('VG_INVALID_JSON', 'Request body is not valid JSON: %s', 400)
export const UnsupportedMediaTypeError = createError('VG_UNSUPPORTED_MEDIA_TYPE', '%s', 415)
export const PayloadTooLargeError = createError(
  'VG_PAYLOAD_TOO_LARGE',
  'Request body is larger than %s bytes; send fewer chunks per request',
  413
)
export const UnauthorizedError = createError(
  'VG_UNAUTHORIZED',
  'Missing or invalid API key: send it as X-API-Key or Authorization: Bearer',
  401
)
export const HeadersTooLargeError = createError('VG_HEADERS_TOO_LARGE', '%s', 431)
export const RequestTimeoutError = createError('VG_REQUEST_TIMEOUT', '%s', 408)
export const ForbiddenError = createError('VG_FORBIDDEN', '%s', 403)
export const NotFoundError = createError('VG_NOT_FOUND', '%s', 404)
export const ProviderUnavailableError = createError('VG_PROVIDER_UNAVAILABLE', '%s', 409)
export const MigrationConflictError = createError('VG_MIGRATION_CONFLICT', '%s', 409)
export const InvalidStateError = createError('VG_INVALID_STATE', '%s', 409)
export const ArchiveRefusedError = createError('VG_ARCHIVE_REFUSED', '%s', 409)
/** Migration refused: the MariaDB topology cannot keep named locks consistent (server-topology.ts). */
export const UnsafeTopologyError = createError('VG_UNSAFE_TOPOLOGY', '%s', 409)
export const ProviderDownError = createError('VG_PROVIDER_DOWN', '%s', 503)
/** A provider call timed out: a write may still land later (idempotent by key, so a retry is safe). */
export const ProviderTimeoutError = createError('VG_PROVIDER_TIMEOUT', '%s', 503)
export const PartialDeleteError = createError('VG_PARTIAL_DELETE', '%s', 503)
/** A live mutation waited too long for a migration batch holding its user (docs/architecture.md#migration-live-traffic); retryable. */
export const MigrationBusyError = createError('VG_MIGRATION_BUSY', '%s', 503)
/** Concurrent writes of the same rows kept colliding after the provider's retries; retryable (Retry-After). */
export const ProviderBusyError = createError('VG_PROVIDER_BUSY', '%s', 503)
export const InternalError = createError('VG_INTERNAL', '%s', 500)

// Start-up refusals (not HTTP): wrong configuration or an incompatible store.
export const ConfigError = createError('VG_CONFIG_INVALID', '%s')
export const IncompatibleStoreError = createError('VG_INCOMPATIBLE_STORE', '%s')

/** Seconds a client should wait before retrying, for each retryable 503 (sent as Retry-After). */
export const RETRY_AFTER_SECONDS: Readonly<Record<string, number>> = {
  VG_PROVIDER_DOWN: 5,
  VG_PROVIDER_TIMEOUT: 2,
  VG_PARTIAL_DELETE: 5,
  VG_MIGRATION_BUSY: 1,
  VG_PROVIDER_BUSY: 1
}

/**
 * The provider `name` could not be reached or failed. The answer names the provider
 * only: driver text (hosts, ports, pool figures, collection names) stays in `cause`,
 * which the error handler logs with the request id.
 */
export function providerDown(name: string, cause: unknown): Error {
  return new ProviderDownError(`Vector provider ${name} is unavailable; retry later`, { cause })
}

/** The provider `name` did not answer in time; what it was asked to do may still happen. */
export function providerTimeout(name: string, cause: unknown): Error {
  return new ProviderTimeoutError(
    `Vector provider ${name} did not answer in time; if this was a write, it may or may not have been applied; retrying is safe because writes are keyed`,
    { cause }
  )
}

/** The provider cannot serve us now (down or timed out): a merged read may skip it. */
export function isProviderDown(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code
  return code === 'VG_PROVIDER_DOWN' || code === 'VG_PROVIDER_TIMEOUT'
}

/** Every message down an error's causes (AggregateErrors included): for the log line and the admin-only migration state. */
export function causeChain(err: unknown, depth = 0): string {
  if (!(err instanceof Error) || depth > 8) return err === undefined ? '' : String(err)
  const inner = err instanceof AggregateError ? err.errors.map(e => causeChain(e, depth + 1)) : []
  const cause = (err as { cause?: unknown }).cause
  if (cause !== undefined) inner.push(causeChain(cause, depth + 1))
  const code = (err as { code?: unknown }).code
  const own = typeof code === 'string' ? `${err.message} [${code}]` : err.message
  return [own, ...inner.filter(s => s !== '')].join(' <- ')
}

/** Seconds a client is asked to wait (Retry-After) before repeating a request refused as busy. */
const BUSY_RETRY_AFTER_S = 1

/** The provider `name` kept aborting the change because of concurrent writes to the same rows. */
export function providerBusy(name: string, cause: unknown): Error {
  const err = new ProviderBusyError(
    `Vector provider ${name} is busy with concurrent changes to the same chunks and did not ` +
      'complete this request; it can be retried safely: writes and deletes are keyed, so repeating one is harmless',
    { cause }
  )
  // the error handler sends these headers with the answer
  return Object.assign(err, { headers: { 'retry-after': String(BUSY_RETRY_AFTER_S) } })
}
