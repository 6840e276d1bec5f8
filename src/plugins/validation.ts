// Request validation. Bodies are checked strictly (no type coercion, unknown
// fields rejected, never silently removed); query strings and params are coerced
// from text. Errors become 400s with a VG_ code and a message that says what to fix.
import { Ajv, type ErrorObject } from 'ajv'
import addFormats from 'ajv-formats'
import fp from 'fastify-plugin'
import type { FastifySchemaValidationError } from 'fastify/types/schema.js'

function makeAjv (coerceTypes: boolean): Ajv {
  const ajv = new Ajv({ coerceTypes, useDefaults: true, removeAdditional: false, allErrors: false, strict: false })
  addFormats.default(ajv)
  return ajv
}

export default fp(async (fastify) => {
  const strict = makeAjv(false)
  const coercing = makeAjv(true)
  fastify.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? strict : coercing).compile(schema))
  fastify.setSchemaErrorFormatter((errors, dataVar) => new Error(describeValidation(errors, dataVar)))
}, { name: 'validation' })

/** Turns the first schema error into one sentence naming the field and the rule. */
export function describeValidation (errors: FastifySchemaValidationError[], dataVar: string): string {
  const e = errors[0] as ErrorObject
  const where = `${dataVar}${e.instancePath.replaceAll('/', '.')}`.replace(/\.(\d+)(?=\.|$)/g, '[$1]')
  const p = e.params as Record<string, unknown>
  switch (e.keyword) {
    case 'required': return `${where} must have the field '${String(p.missingProperty)}'`
    case 'additionalProperties': return `${where} has an unknown field '${String(p.additionalProperty)}'; remove it`
    case 'not': return `${where} must not be all zeros: a zero vector has no direction for cosine similarity`
    case 'minItems':
    case 'maxItems': return isVectorPath(e.instancePath)
      ? `${where} must have exactly ${String(p.limit)} numbers (VECTOR_DIMENSION)`
      : `${where} ${e.message ?? 'has a wrong number of items'}`
    case 'minimum':
    case 'maximum': return isVectorPath(e.instancePath)
      ? `${where} must be a finite number between -1e9 and 1e9`
      : `${where} ${e.message ?? 'is out of range'}`
    case 'pattern': return `${where} must match ${String(p.pattern)}`
    default: return `${where} ${e.message ?? 'is invalid'}`
  }
}

export function isVectorPath (instancePath: string): boolean {
  return /(^|\/)vector(\/|$)/.test(instancePath)
}
