// Qdrant's OpenAPI document (v1.19, read from shared/reference beside the repository, never
// copied into it) as ajv validators: the emulator's answers and the gateway's request bodies
// are checked against it. `null` when the document is not there (tests skip).
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Ajv, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'
import { openapiSchemaToJsonSchema } from '@openapi-contrib/openapi-schema-to-json-schema'

const DOCUMENT = path.join('shared', 'reference', 'qdrant-openapi-v1.19.json')

/**
 * The document sits in `shared/` beside the repository checkout (X/../shared for a checkout
 * at X), never inside it. Looked for in every folder above this package, so it is found from
 * a checkout, from a git worktree nested deeper, and whatever the package's depth in the repo.
 */
function findDocument(): string {
  const here = path.dirname(fileURLToPath(import.meta.url))
  for (let dir = here; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, DOCUMENT))) return path.join(dir, DOCUMENT)
    if (path.dirname(dir) === dir) break
  }
  // not there: name the place a checkout expects it (beside the repository root, packages/<name>/src up 3)
  return path.resolve(here, '..', '..', '..', '..', DOCUMENT)
}

export const QDRANT_OPENAPI_PATH = findDocument()

type Json = any

const DEFS_ID = 'qdrant-openapi-defs'
const CLOSED_DEFS_ID = 'qdrant-openapi-closed-defs'
const CUSTOM_FORMATS = [
  'uint64',
  'uint',
  'int64',
  'uint32',
  'int32',
  'uint16',
  'int16',
  'uint8',
  'int8',
  'usize',
  'float',
  'double'
]
const SHAPE_KEYS = ['type', '$ref', 'anyOf', 'oneOf', 'allOf', 'enum', 'properties', 'items']

/**
 * Qdrant writes "X or null" as anyOf: [X, {nullable: true}]; the converter turns a bare
 * {nullable: true} into {} (anything). Make it mean null only, so those branches are checked.
 */
function tightenNullable(node: Json): Json {
  if (Array.isArray(node)) return node.map(tightenNullable)
  if (node === null || typeof node !== 'object') return node
  if (node.nullable === true && !SHAPE_KEYS.some(k => k in node)) {
    const { nullable: _n, default: _d, ...rest } = node
    return { ...rest, enum: [null] }
  }
  const out: Json = {}
  for (const [k, v] of Object.entries(node)) out[k] = tightenNullable(v)
  return out
}

/** Every object schema that lists its properties refuses others (the document has no allOf, so this is exact). */
function closeObjects(node: Json): Json {
  if (Array.isArray(node)) return node.map(closeObjects)
  if (node === null || typeof node !== 'object') return node
  const out: Json = {}
  for (const [k, v] of Object.entries(node))
    out[k] =
      k === 'properties'
        ? Object.fromEntries(Object.entries(v as Json).map(([p, s]) => [p, closeObjects(s)]))
        : closeObjects(v)
  if (node.properties !== undefined && node.additionalProperties === undefined) out.additionalProperties = false
  return out
}

export function convertQdrantSchema(schema: Json, defsId = DEFS_ID): Json {
  const converted: Json = openapiSchemaToJsonSchema(tightenNullable(schema), { cloneSchema: true })
  delete converted.$schema
  return JSON.parse(JSON.stringify(converted).split('"#/components/schemas/').join(`"${defsId}#/definitions/`))
}

export interface QdrantOpenApi {
  spec: Json
  /** a validator for any schema of the document (refs resolve to its components) */
  compile(schema: Json): ValidateFunction
  /** a validator for one component, e.g. 'CreateCollection', refusing properties the document does not declare */
  component(name: string): ValidateFunction
}

export function loadQdrantOpenApi(): QdrantOpenApi | null {
  if (!existsSync(QDRANT_OPENAPI_PATH)) return null
  const spec: Json = JSON.parse(readFileSync(QDRANT_OPENAPI_PATH, 'utf8'))
  const addFormats = ((addFormatsModule as Json).default ?? addFormatsModule) as (ajv: Ajv) => Ajv
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true })
  addFormats(ajv)
  for (const f of CUSTOM_FORMATS) ajv.addFormat(f, true)
  const definitions: Record<string, Json> = {}
  const closed: Record<string, Json> = {}
  for (const [name, schema] of Object.entries(spec.components.schemas as Record<string, Json>)) {
    definitions[name] = convertQdrantSchema(schema)
    closed[name] = closeObjects(convertQdrantSchema(schema, CLOSED_DEFS_ID))
  }
  ajv.addSchema({ $id: DEFS_ID, definitions })
  ajv.addSchema({ $id: CLOSED_DEFS_ID, definitions: closed })
  return {
    spec,
    compile: schema => ajv.compile(convertQdrantSchema(schema)),
    // a request body the gateway sends must also not carry fields the document does not list (typos, invented names)
    component: name => ajv.compile({ $ref: `${CLOSED_DEFS_ID}#/definitions/${name}` })
  }
}
