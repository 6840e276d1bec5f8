// Every error the gateway answers with, declared once with a stable VG_ code.
// Routes and domain code throw these; the error handler renders them as
// {statusCode, code, error, message}.
import createError from '@fastify/error'

export const BadRequestError = createError('VG_BAD_REQUEST', '%s', 400)
export const InvalidVectorError = createError('VG_INVALID_VECTOR', '%s', 400)
export const InvalidJsonError = createError('VG_INVALID_JSON', 'Request body is not valid JSON: %s', 400)
export const UnsupportedMediaTypeError = createError('VG_UNSUPPORTED_MEDIA_TYPE', '%s', 415)
export const PayloadTooLargeError = createError('VG_PAYLOAD_TOO_LARGE', 'Request body is larger than %s bytes; send fewer chunks per request', 413)
export const UnauthorizedError = createError('VG_UNAUTHORIZED', 'Missing or invalid API key: send it as X-API-Key or Authorization: Bearer', 401)
export const ForbiddenError = createError('VG_FORBIDDEN', '%s', 403)
export const NotFoundError = createError('VG_NOT_FOUND', '%s', 404)
export const ProviderUnavailableError = createError('VG_PROVIDER_UNAVAILABLE', '%s', 409)
export const MigrationConflictError = createError('VG_MIGRATION_CONFLICT', '%s', 409)
export const InvalidStateError = createError('VG_INVALID_STATE', '%s', 409)
export const ArchiveRefusedError = createError('VG_ARCHIVE_REFUSED', '%s', 409)
/** Migration refused: the MariaDB topology cannot keep named locks consistent (server-topology.ts). */
export const UnsafeTopologyError = createError('VG_UNSAFE_TOPOLOGY', '%s', 409)
export const ProviderDownError = createError('VG_PROVIDER_DOWN', '%s', 503)
export const PartialDeleteError = createError('VG_PARTIAL_DELETE', '%s', 503)
/** A live mutation waited too long for a migration batch holding its user (SPEC §5); retryable. */
export const MigrationBusyError = createError('VG_MIGRATION_BUSY', '%s', 503)
/** Concurrent writes of the same rows kept colliding after the provider's retries; retryable (Retry-After). */
export const ProviderBusyError = createError('VG_PROVIDER_BUSY', '%s', 503)
export const InternalError = createError('VG_INTERNAL', '%s', 500)

// Start-up refusals (not HTTP): wrong configuration or an incompatible store.
export const ConfigError = createError('VG_CONFIG_INVALID', '%s')
export const IncompatibleStoreError = createError('VG_INCOMPATIBLE_STORE', '%s')

/** The provider `name` could not be reached or failed; `cause` is kept for the logs. */
export function providerDown (name: string, cause: unknown): Error {
  const reason = cause instanceof Error ? cause.message : String(cause)
  return new ProviderDownError(`Vector provider ${name} is unavailable: ${reason}`, { cause })
}

export function isProviderDown (err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'VG_PROVIDER_DOWN'
}

/** Seconds a client is asked to wait (Retry-After) before repeating a request refused as busy. */
export const BUSY_RETRY_AFTER_S = 1

/** The provider `name` kept aborting the change because of concurrent writes to the same rows. */
export function providerBusy (name: string, cause: unknown): Error {
  const err = new ProviderBusyError(`Vector provider ${name} is busy with concurrent changes to the same chunks and did not ` +
    'complete this request; it can be retried safely: writes and deletes are keyed, so repeating one is harmless', { cause })
  // the error handler sends these headers with the answer
  return Object.assign(err, { headers: { 'retry-after': String(BUSY_RETRY_AFTER_S) } })
}
