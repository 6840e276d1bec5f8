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
export const HeadersTooLargeError = createError('VG_HEADERS_TOO_LARGE', '%s', 431)
export const RequestTimeoutError = createError('VG_REQUEST_TIMEOUT', '%s', 408)
export const ForbiddenError = createError('VG_FORBIDDEN', '%s', 403)
export const NotFoundError = createError('VG_NOT_FOUND', '%s', 404)
export const ProviderUnavailableError = createError('VG_PROVIDER_UNAVAILABLE', '%s', 409)
export const MigrationConflictError = createError('VG_MIGRATION_CONFLICT', '%s', 409)
export const InvalidStateError = createError('VG_INVALID_STATE', '%s', 409)
export const ArchiveRefusedError = createError('VG_ARCHIVE_REFUSED', '%s', 409)
export const ProviderDownError = createError('VG_PROVIDER_DOWN', '%s', 503)
export const PartialDeleteError = createError('VG_PARTIAL_DELETE', '%s', 503)
/** A live mutation waited too long for a migration batch holding its user (SPEC §5); retryable. */
export const MigrationBusyError = createError('VG_MIGRATION_BUSY', '%s', 503)
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
