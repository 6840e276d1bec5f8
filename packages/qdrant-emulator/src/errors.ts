/**
 * Qdrant-shaped errors.
 *
 * Real Qdrant renders every storage/collection error as
 *   {"status":{"error":"<Kind prefix>: <description>"},"time":<seconds>}
 * with the HTTP status picked from the error kind (see qdrant src/actix/helpers.rs):
 *   BadInput / BadRequest -> 400, NotFound -> 404, AlreadyExists -> 409,
 *   ServiceError -> 500, Forbidden/Locked -> 403, Timeout -> 408, RateLimit -> 429.
 * Request (de)serialisation failures are rendered by actix-web-validator as
 *   400 "Format error in JSON body: ..." and 422 "Validation error in JSON body: [...]".
 */

export class QdrantError extends Error {
  readonly status: number
  readonly headers: Record<string, string>

  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message)
    this.name = 'QdrantError'
    this.status = status
    this.headers = headers
  }
}

/** StorageError::NotFound */
export const notFound = (description: string): QdrantError => new QdrantError(404, `Not found: ${description}`)

/** StorageError::BadInput */
export const wrongInput = (description: string): QdrantError => new QdrantError(400, `Wrong input: ${description}`)

/** StorageError::BadRequest */
export const badRequest = (description: string): QdrantError => new QdrantError(400, `Bad request: ${description}`)

/** StorageError::AlreadyExists (same text prefix as BadInput, but 409) */
export const alreadyExists = (description: string): QdrantError => new QdrantError(409, `Wrong input: ${description}`)

/** StorageError::ServiceError */
export const serviceError = (description: string): QdrantError =>
  new QdrantError(500, `Service internal error: ${description}`)

/** actix JsonPayloadError::Deserialize -> "Format error in JSON body: <serde message>" */
export const formatError = (message: string, where = 'JSON body'): QdrantError =>
  new QdrantError(400, `Format error in ${where}: ${message}`)

/** validator::ValidationErrors -> 422 "Validation error in JSON body: [field: message]" */
export const validationError = (fieldMessages: string[], where = 'JSON body'): QdrantError =>
  new QdrantError(422, `Validation error in ${where}: [${fieldMessages.join(', ')}]`)

export const collectionNotFound = (name: string): QdrantError => notFound(`Collection \`${name}\` doesn't exist!`)

export const collectionAlreadyExists = (name: string): QdrantError =>
  alreadyExists(`Collection \`${name}\` already exists!`)

export const vectorDimensionError = (expected: number, got: number): QdrantError =>
  wrongInput(`Vector dimension error: expected dim: ${expected}, got ${got}`)

/** Turns a JSON.parse failure into serde_json-like wording with line/column. */
export function jsonSyntaxError(raw: string, err: unknown): QdrantError {
  if (raw.trim() === '') return formatError('EOF while parsing a value at line 1 column 0')
  const msg = err instanceof Error ? err.message : String(err)
  const m = /position (\d+)/.exec(msg)
  let pos = m ? Number(m[1]) : raw.length
  if (pos > raw.length) pos = raw.length
  const before = raw.slice(0, pos)
  const line = before.split('\n').length
  const column = pos - before.lastIndexOf('\n')
  const what = pos >= raw.length ? 'EOF while parsing a value' : 'expected value'
  return formatError(`${what} at line ${line} column ${column}`)
}
