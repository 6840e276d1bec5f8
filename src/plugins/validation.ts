// Request validation. Bodies are checked strictly (no type coercion, unknown
// fields rejected, never silently removed); query strings and params are coerced
// from text. Errors become 400s with a VG_ code and a message that says what to fix.
import { Ajv, type ErrorObject } from 'ajv'
import addFormats from 'ajv-formats'
import fp from 'fastify-plugin'
import type { FastifySchemaValidationError } from 'fastify/types/schema.js'
import { vectorForms } from '../schemas/chunk.ts'

function makeAjv(coerceTypes: boolean): Ajv {
  // verbose: errors carry the value and its schema, so messages can say what was sent
  const ajv = new Ajv({
    coerceTypes,
    useDefaults: true,
    removeAdditional: false,
    allErrors: false,
    strict: false,
    verbose: true
  })
  addFormats.default(ajv)
  return ajv
}

export default fp(
  async fastify => {
    const strict = makeAjv(false)
    const coercing = makeAjv(true)
    fastify.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema))
    fastify.setSchemaErrorFormatter((errors, dataVar) => new Error(describeValidation(errors, dataVar)))
  },
  { name: 'validation' }
)

/** Turns the most telling schema error into one sentence naming the field and the rule. */
export function describeValidation(errors: FastifySchemaValidationError[], dataVar: string): string {
  const e = mostTelling(errors as ErrorObject[])
  const where = `${dataVar}${e.instancePath.replaceAll('/', '.')}`.replace(/\.(\d+)(?=\.|$)/g, '[$1]')
  const p = e.params as Record<string, unknown>
  const vector = isVectorPath(e.instancePath)
  switch (e.keyword) {
    case 'anyOf':
      return vector
        ? `${where} must be ${vectorForms(dimensionOf(e.parentSchema))}; got ${kindOf(e.data)}`
        : `${where} ${e.message ?? 'is invalid'}`
    case 'required':
      return `${where} must have the field '${String(p.missingProperty)}'`
    case 'additionalProperties':
      return `${where} has an unknown field '${String(p.additionalProperty)}'; remove it`
    case 'not':
      return `${where} must not be all zeros: a zero vector has no direction for cosine similarity`
    case 'minItems':
    case 'maxItems':
      return isVectorPath(e.instancePath)
        ? `${where} must have exactly ${String(p.limit)} numbers (VECTOR_DIMENSION)`
        : `${where} ${e.message ?? 'has a wrong number of items'}`
    case 'minimum':
    case 'maximum':
      return isVectorPath(e.instancePath)
        ? `${where} must be a finite number between -1e9 and 1e9`
        : `${where} ${e.message ?? 'is out of range'}`
    case 'pattern':
      return `${where} must match ${String(p.pattern)}`
    default:
      return `${where} ${e.message ?? 'is invalid'}`
  }
}

/**
 * The first error, except for a union (anyOf) no branch of which matched: Ajv reports
 * the first branch's error first, which for a vector sent as a string is "must be
 * array". Prefer the error of the branch the value's type fits (a wrong
 * length, a number out of range), else the union's own error.
 */
function mostTelling(errors: ErrorObject[]): ErrorObject {
  const union = errors.find(x => x.keyword === 'anyOf')
  if (union === undefined) return errors[0]
  return (
    errors.find(x => x.keyword !== 'anyOf' && (x.keyword !== 'type' || x.instancePath !== union.instancePath)) ?? union
  )
}

/** VECTOR_DIMENSION, from the vector union's array branch */
function dimensionOf(unionSchema: unknown): number | undefined {
  return (unionSchema as { anyOf?: Array<{ minItems?: number }> } | undefined)?.anyOf?.[0]?.minItems
}

function kindOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return `${/^[aeiou]/.test(typeof value) ? 'an' : 'a'} ${typeof value}`
}

export function isVectorPath(instancePath: string): boolean {
  return /(^|\/)vector(\/|$)/.test(instancePath)
}
