/**
 * Qdrant REST endpoints on top of the in-memory store: request parsing/validation in Qdrant's
 * wording, and result shapes as Qdrant 1.19 serialises them (optional fields omitted, f32 numbers
 * printed with the shortest representation that round-trips through f32).
 */
import { badRequest, formatError, notFound, QdrantError, validationError, wrongInput } from './errors.ts'
import { compileFilter, parseKeyPath, type Payload, type PointPredicate } from './filter.ts'
import { parsePathPointId, parsePointId, tryParsePointId, type ParsedId } from './ids.ts'
import {
  Collection,
  DISTANCES,
  PAYLOAD_SCHEMA_TYPES,
  Store,
  type CollectionConfigInput,
  type Distance,
  type PayloadIndexDecl,
  type PayloadSchemaType,
  type PointRec,
  type PointWrite,
  type ScoredRec,
  type UpdateMode
} from './store.ts'

export const QDRANT_VERSION = '1.19.0'

export type ApiOutcome =
  /** wrapped as {"result":..,"status":"ok","time":..} */
  | { kind: 'result'; result: unknown }
  /** sent as-is (GET /) */
  | { kind: 'json'; body: unknown }
  | { kind: 'text'; text: string }

export interface ApiRequest {
  method: string
  /** decoded path segments, e.g. ['collections', 'docs', 'points', 'scroll'] */
  segments: string[]
  query: URLSearchParams
  /** parsed JSON body (undefined when empty) */
  body: unknown
}

type Handler = (req: ApiRequest, params: Record<string, string>) => ApiOutcome

interface Route {
  method: string
  parts: string[]
  handler: Handler
}

/* ------------------------------------------------------------------ helpers */

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function typeName(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'sequence'
  if (typeof v === 'object') return 'map'
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`
  if (typeof v === 'boolean') return `boolean \`${v}\``
  if (typeof v === 'number') return Number.isInteger(v) ? `integer \`${v}\`` : `floating point \`${v}\``
  return typeof v
}

function requireBody(body: unknown, struct: string): Record<string, unknown> {
  if (body === undefined) throw formatError('EOF while parsing a value at line 1 column 0')
  if (!isObject(body))
    throw formatError(`invalid type: ${typeName(body)}, expected struct ${struct} at line 1 column 1`)
  return body
}

function optionalBody(body: unknown, struct: string): Record<string, unknown> {
  if (body === undefined || body === null) return {}
  return requireBody(body, struct)
}

/**
 * Shortest decimal that maps back to the same f32, as serde_json (ryu) prints f32. Found by
 * bisecting the digit count: if p digits map back, so do more (they land closer to f; the
 * test checks every power of two, where that is least obvious), and 9 always do. Vectors
 * out of scroll and query spent two thirds of the emulator's time here, digit by digit.
 */
export function f32(x: number): number {
  const f = Math.fround(x)
  if (!Number.isFinite(f) || Number.isInteger(f)) return f
  let lo = 1
  let hi = 9
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (Math.fround(Number(f.toPrecision(mid))) === f) hi = mid
    else lo = mid + 1
  }
  return Number(f.toPrecision(lo))
}

function vectorOut(v: Float32Array): number[] {
  const out = new Array<number>(v.length)
  for (let i = 0; i < v.length; i++) out[i] = f32(v[i])
  return out
}

function queryBool(q: URLSearchParams, name: string, dflt = false): boolean {
  const v = q.get(name)
  if (v === null) return dflt
  if (v === 'true') return true
  if (v === 'false') return false
  throw formatError(`${name}: provided string was not \`true\` or \`false\``, 'query parameters')
}

function updateResult(operationId: number, wait: boolean): Record<string, unknown> {
  return { operation_id: operationId, status: wait ? 'completed' : 'acknowledged' }
}

function limitParam(v: unknown, dflt: number, field = 'limit'): number {
  if (v === undefined || v === null) return dflt
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw formatError(`invalid type: ${typeName(v)}, expected usize`)
  }
  if (v < 1) throw validationError([`${field}: value ${v} invalid, must be 1 or larger`])
  return v
}

function offsetParam(v: unknown): number {
  if (v === undefined || v === null) return 0
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw formatError(`invalid type: ${typeName(v)}, expected usize`)
  }
  return v
}

type PayloadSelector = ((p: Payload) => Payload) | null

function pickPath(src: Payload, dst: Payload, key: string): void {
  let path
  try {
    path = parseKeyPath(key)
  } catch {
    return
  }
  let s: unknown = src
  let d: Payload = dst
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]
    if (!isObject(s) || !(seg.name in s)) return
    const v = s[seg.name]
    if (i === path.length - 1 || seg.index !== undefined) {
      d[seg.name] = v
      return
    }
    if (!isObject(d[seg.name])) d[seg.name] = {}
    d = d[seg.name] as Payload
    s = v
  }
}

function omitPath(p: Payload, key: string): void {
  const parts = key.split('.')
  let cur: unknown = p
  for (let i = 0; i < parts.length - 1; i++) {
    if (!isObject(cur)) return
    cur = cur[parts[i]]
  }
  if (isObject(cur)) delete cur[parts[parts.length - 1]]
}

function deepCopy(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(deepCopy)
  if (isObject(v)) {
    const out: Payload = {}
    for (const [k, x] of Object.entries(v)) out[k] = deepCopy(x)
    return out
  }
  return v
}

function parseWithPayload(v: unknown, dflt: boolean): PayloadSelector {
  if (v === undefined || v === null) return dflt ? p => p : null
  if (v === true) return p => p
  if (v === false) return null
  const asList = (x: unknown): string[] => {
    const list = typeof x === 'string' ? [x] : x
    if (!Array.isArray(list) || !list.every(k => typeof k === 'string')) {
      throw formatError('data did not match any variant of untagged enum WithPayloadInterface')
    }
    return list as string[]
  }
  if (Array.isArray(v)) {
    const keys = asList(v)
    return p => {
      const out: Payload = {}
      for (const k of keys) pickPath(p, out, k)
      return out
    }
  }
  if (isObject(v) && 'include' in v) {
    const keys = asList(v.include)
    return p => {
      const out: Payload = {}
      for (const k of keys) pickPath(p, out, k)
      return out
    }
  }
  if (isObject(v) && 'exclude' in v) {
    const keys = asList(v.exclude)
    return p => {
      const out = deepCopy(p) as Payload
      for (const k of keys) omitPath(out, k)
      return out
    }
  }
  throw formatError('data did not match any variant of untagged enum WithPayloadInterface')
}

function parseWithVector(v: unknown, dflt: boolean): boolean {
  if (v === undefined || v === null) return dflt
  if (typeof v === 'boolean') return v
  if (Array.isArray(v) && v.every(x => typeof x === 'string')) return v.includes('')
  throw formatError('data did not match any variant of untagged enum WithVector')
}

function recordOut(col: Collection, rec: PointRec, sel: PayloadSelector, withVector: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { id: rec.id }
  if (sel) out.payload = sel(rec.payload)
  if (withVector) out.vector = vectorOut(col.vectorOf(rec))
  return out
}

function scoredOut(col: Collection, s: ScoredRec, sel: PayloadSelector, withVector: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { id: s.rec.id, version: s.rec.version, score: f32(s.score) }
  if (sel) out.payload = sel(s.rec.payload)
  if (withVector) out.vector = vectorOut(col.vectorOf(s.rec))
  return out
}

function pointNotFound(id: ParsedId): QdrantError {
  return notFound(`No point with id ${typeof id.id === 'string' ? id.id : id.id.toString()} found`)
}

function validateCollectionName(name: string): void {
  if (name.length === 0 || name.length > 255) {
    throw validationError(['name: length must be between 1 and 255'], 'path parameters')
  }
  const badChar = ['<', '>', ':', '"', '/', '\\', '|', '?', '*', '\0', '\u{1F}'].find(c => name.includes(c))
  if (badChar !== undefined) {
    throw validationError([`name: collection name cannot contain "${badChar}" char`], 'path parameters')
  }
}

function parsePayload(v: unknown): Payload {
  if (v === undefined || v === null) return {}
  if (!isObject(v)) throw formatError(`invalid type: ${typeName(v)}, expected a map`)
  return v
}

/** PointsSelector: {points:[ids]} or {filter}. */
function parseSelector(body: Record<string, unknown>): { ids: ParsedId[] | null; filter: PointPredicate | null } {
  if (Array.isArray(body.points)) return { ids: body.points.map(v => parsePointId(v)), filter: null }
  if (isObject(body.filter)) return { ids: null, filter: compileFilter(body.filter) }
  throw formatError('data did not match any variant of untagged enum PointsSelector')
}

/** points + filter for payload operations (both may be present: intersection). */
function payloadTargets(col: Collection, body: Record<string, unknown>): PointRec[] {
  const hasPoints = body.points !== undefined && body.points !== null
  const hasFilter = body.filter !== undefined && body.filter !== null
  if (!hasPoints && !hasFilter) throw badRequest('Either list of point ids or filter must be provided')
  const pred = hasFilter ? compileFilter(body.filter) : null
  if (hasPoints) {
    if (!Array.isArray(body.points)) throw formatError(`invalid type: ${typeName(body.points)}, expected a sequence`)
    const ids = body.points.map(v => parsePointId(v))
    for (const id of ids) if (!col.points.has(id.key)) throw pointNotFound(id)
    return col.select(ids, pred)
  }
  return col.select(null, pred)
}

function setAtKey(payload: Payload, key: string, value: Payload): Payload {
  const out = { ...payload }
  const parts = key.split('.')
  let cur: Payload = out
  for (let i = 0; i < parts.length; i++) {
    const k = parts[i]
    if (i === parts.length - 1) {
      const existing = cur[k]
      cur[k] = isObject(existing) ? { ...existing, ...value } : { ...value }
    } else {
      const next = cur[k]
      cur[k] = isObject(next) ? { ...next } : {}
      cur = cur[k] as Payload
    }
  }
  return out
}

/* ------------------------------------------------------------------ upsert */

function parseUpdateMode(v: unknown): UpdateMode {
  if (v === undefined || v === null) return 'upsert'
  if (v === 'upsert' || v === 'insert_only' || v === 'update_only') return v
  throw formatError(`unknown variant \`${String(v)}\`, expected one of \`upsert\`, \`insert_only\`, \`update_only\``)
}

function parseWrites(col: Collection, body: Record<string, unknown>): PointWrite[] {
  const writes: PointWrite[] = []
  if (Array.isArray(body.points)) {
    for (const p of body.points) {
      if (!isObject(p)) throw formatError(`invalid type: ${typeName(p)}, expected struct PointStruct`)
      if (!('id' in p)) throw formatError('missing field `id`')
      const parsed = parsePointId(p.id)
      if (!('vector' in p)) throw formatError('missing field `vector`')
      writes.push({ parsed, vector: col.prepareVector(p.vector), payload: parsePayload(p.payload) })
    }
    return writes
  }
  if (isObject(body.batch)) {
    const b = body.batch
    if (!Array.isArray(b.ids)) throw formatError('missing field `ids`')
    let vectors = b.vectors
    if (isObject(vectors)) {
      const names = Object.keys(vectors)
      const other = names.find(n => n !== '')
      if (other !== undefined) throw wrongInput(`Not existing vector name error: ${other}`)
      vectors = vectors['']
    }
    if (!Array.isArray(vectors)) throw formatError('missing field `vectors`')
    const payloads = b.payloads
    if (payloads !== undefined && payloads !== null && !Array.isArray(payloads)) {
      throw formatError(`invalid type: ${typeName(payloads)}, expected a sequence`)
    }
    if (vectors.length !== b.ids.length) {
      throw wrongInput(`number of ids and vectors must be equal (${b.ids.length} != ${vectors.length})`)
    }
    if (Array.isArray(payloads) && payloads.length !== b.ids.length) {
      throw wrongInput(`number of ids and payloads must be equal (${b.ids.length} != ${payloads.length})`)
    }
    for (let i = 0; i < b.ids.length; i++) {
      const parsed = parsePointId(b.ids[i])
      writes.push({
        parsed,
        vector: col.prepareVector(vectors[i]),
        payload: parsePayload(Array.isArray(payloads) ? payloads[i] : undefined)
      })
    }
    return writes
  }
  throw formatError('data did not match any variant of untagged enum PointInsertOperations')
}

/* ------------------------------------------------------------------ query */

interface SearchSpec {
  vector: Float32Array | null
  filter: PointPredicate
  limit: number
  offset: number
  threshold: number | null
  withPayload: PayloadSelector
  withVector: boolean
}

function resolveVectorInput(col: Collection, input: unknown): Float32Array {
  if (Array.isArray(input)) return col.prepareVector(input)
  const id = tryParsePointId(input)
  if (id) {
    const rec = col.points.get(id.key)
    if (!rec) throw pointNotFound(id)
    return col.vectorOf(rec).slice()
  }
  if (isObject(input) && ('indices' in input || 'values' in input)) {
    throw wrongInput('Not existing vector name error: ')
  }
  if (typeof input === 'string' || typeof input === 'number') parsePointId(input) // throws the id error
  throw formatError('Expected some form of vector, id, or a type of query')
}

function parseQueryRequest(col: Collection, body: Record<string, unknown>): SearchSpec {
  if (body.prefetch !== undefined && body.prefetch !== null) {
    throw badRequest('the Qdrant emulator does not support `prefetch`')
  }
  if (body.using !== undefined && body.using !== null && body.using !== '') {
    throw wrongInput(`Not existing vector name error: ${String(body.using)}`)
  }
  if (body.lookup_from !== undefined && body.lookup_from !== null) {
    throw badRequest('the Qdrant emulator does not support `lookup_from`')
  }
  let vector: Float32Array | null = null
  const q = body.query
  if (q !== undefined && q !== null) {
    if (isObject(q)) {
      if ('nearest' in q) vector = resolveVectorInput(col, q.nearest)
      else {
        const kind = Object.keys(q)[0] ?? '?'
        throw badRequest(`the Qdrant emulator does not support \`${kind}\` queries`)
      }
    } else vector = resolveVectorInput(col, q)
  }
  const threshold = body.score_threshold
  if (threshold !== undefined && threshold !== null && typeof threshold !== 'number') {
    throw formatError(`invalid type: ${typeName(threshold)}, expected f32`)
  }
  return {
    vector,
    filter: compileFilter(body.filter),
    limit: limitParam(body.limit, 10),
    offset: offsetParam(body.offset),
    threshold: typeof threshold === 'number' ? threshold : null,
    withPayload: parseWithPayload(body.with_payload, false),
    withVector: parseWithVector(body.with_vector ?? body.with_vectors, false)
  }
}

function runSearch(col: Collection, spec: SearchSpec): Record<string, unknown>[] {
  const hits = spec.vector
    ? col.search(spec.vector, spec.filter, spec.limit, spec.offset, spec.threshold)
    : col.firstByIds(spec.filter, spec.limit, spec.offset)
  return hits.map(h => scoredOut(col, h, spec.withPayload, spec.withVector))
}

/* ------------------------------------------------------------------ scroll */

function orderValueOf(payload: Payload, key: string): number | null {
  let path
  try {
    path = parseKeyPath(key)
  } catch {
    return null
  }
  let cur: unknown = payload
  for (const seg of path) {
    if (!isObject(cur)) return null
    cur = cur[seg.name]
  }
  const first = Array.isArray(cur) ? cur[0] : cur
  if (typeof first === 'number') return first
  if (typeof first === 'bigint') return Number(first)
  if (typeof first === 'string') {
    const t = Date.parse(first)
    return Number.isNaN(t) ? null : t
  }
  return null
}

function scrollOrdered(
  col: Collection,
  body: Record<string, unknown>,
  limit: number,
  sel: PayloadSelector,
  withVector: boolean
) {
  const ob = body.order_by
  const spec = typeof ob === 'string' ? { key: ob } : isObject(ob) ? ob : null
  if (!spec || typeof spec.key !== 'string') {
    throw formatError('Expected a string, or an object with a key, direction and/or start_from')
  }
  const key = spec.key
  const direction = spec.direction ?? 'asc'
  if (direction !== 'asc' && direction !== 'desc') {
    throw formatError(`unknown variant \`${String(direction)}\`, expected \`asc\` or \`desc\``)
  }
  if (body.offset !== undefined && body.offset !== null) {
    throw badRequest(
      "Cannot use an `offset` when using `order_by`. The alternative for paging is to use `order_by.start_from` and a filter to exclude the IDs that you've already seen for the `order_by.start_from` value"
    )
  }
  const decl = col.payloadIndexes.get(key)
  if (!decl || !['integer', 'float', 'datetime'].includes(decl.data_type)) {
    throw badRequest(
      `No range index for \`order_by\` key: \`${key}\`. Please create one to use \`order_by\`. Check https://qdrant.tech/documentation/concepts/indexing/#payload-index to see which payload schemas support Range conditions`
    )
  }
  let startFrom: number | null = null
  if (spec.start_from !== undefined && spec.start_from !== null) {
    const sf = spec.start_from
    startFrom = typeof sf === 'number' ? sf : typeof sf === 'string' ? Date.parse(sf) : NaN
    if (Number.isNaN(startFrom)) throw formatError('invalid `start_from`')
  }
  const pred = compileFilter(body.filter)
  const rows: { rec: PointRec; value: number }[] = []
  for (const rec of col.select(null, pred)) {
    const value = orderValueOf(rec.payload, key)
    if (value === null) continue
    if (startFrom !== null && (direction === 'asc' ? value < startFrom : value > startFrom)) continue
    rows.push({ rec, value })
  }
  rows.sort((a, b) =>
    a.value !== b.value ? (direction === 'asc' ? a.value - b.value : b.value - a.value) : a.rec.key < b.rec.key ? -1 : 1
  )
  return {
    points: rows.slice(0, limit).map(r => ({ ...recordOut(col, r.rec, sel, withVector), order_value: r.value })),
    next_page_offset: null
  }
}

/* ------------------------------------------------------------------ collections */

function parseCreateCollection(body: Record<string, unknown>): CollectionConfigInput {
  const vectors = body.vectors
  if (vectors === undefined || vectors === null) {
    throw badRequest('the Qdrant emulator needs a single unnamed dense vector: `vectors: {size, distance}`')
  }
  if (!isObject(vectors)) throw formatError('data did not match any variant of untagged enum VectorsConfig')
  if (!('size' in vectors) && !('distance' in vectors)) {
    throw badRequest(
      'the Qdrant emulator supports only a single unnamed vector (`vectors: {size, distance}`), not named vectors'
    )
  }
  const size = vectors.size
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) {
    throw formatError(`invalid type: ${typeName(size)}, expected u64`)
  }
  if (size < 1) throw validationError([`vectors.size: value ${size} invalid, must be 1 or larger`])
  const distance = vectors.distance
  if (typeof distance !== 'string' || !DISTANCES.includes(distance as Distance)) {
    throw formatError(
      `unknown variant \`${String(distance)}\`, expected one of \`Cosine\`, \`Euclid\`, \`Dot\`, \`Manhattan\``
    )
  }
  const params: Record<string, unknown> = {}
  for (const k of ['shard_number', 'replication_factor', 'write_consistency_factor', 'on_disk_payload']) {
    if (body[k] !== undefined && body[k] !== null) params[k] = body[k]
  }
  const obj = (v: unknown): Record<string, unknown> | undefined => (isObject(v) ? v : undefined)
  return {
    size,
    distance: distance as Distance,
    on_disk: typeof vectors.on_disk === 'boolean' ? vectors.on_disk : undefined,
    hnsw_config: obj(body.hnsw_config),
    optimizers_config: obj(body.optimizers_config),
    wal_config: obj(body.wal_config),
    quantization_config: body.quantization_config ?? undefined,
    strict_mode_config: obj(body.strict_mode_config),
    metadata: obj(body.metadata),
    params
  }
}

function parseFieldSchema(col: Collection, field: string, schema: unknown): PayloadIndexDecl {
  const check = (t: unknown): PayloadSchemaType => {
    if (typeof t === 'string' && (PAYLOAD_SCHEMA_TYPES as readonly string[]).includes(t)) return t as PayloadSchemaType
    throw formatError('data did not match any variant of untagged enum PayloadFieldSchema')
  }
  if (typeof schema === 'string') return { data_type: check(schema) }
  if (isObject(schema)) return { data_type: check(schema.type), params: schema }
  if (schema === undefined || schema === null) {
    // Qdrant infers the type from stored values
    for (const rec of col.points.values()) {
      const v = rec.payload[field]
      const first = Array.isArray(v) ? v[0] : v
      if (typeof first === 'string') return { data_type: 'keyword' }
      if (typeof first === 'boolean') return { data_type: 'bool' }
      if (typeof first === 'number' || typeof first === 'bigint') {
        return { data_type: Number.isInteger(first) || typeof first === 'bigint' ? 'integer' : 'float' }
      }
    }
    throw badRequest(`Could not infer field schema for \`${field}\`; please specify \`field_schema\``)
  }
  throw formatError('data did not match any variant of untagged enum PayloadFieldSchema')
}

/* ------------------------------------------------------------------ routes */

export class QdrantApi {
  readonly store = new Store()
  private readonly routes: Route[] = []

  constructor() {
    const r = (method: string, pattern: string, handler: Handler): void => {
      this.routes.push({ method, parts: pattern.split('/').filter(Boolean), handler })
    }
    const col = (p: Record<string, string>): Collection => this.store.get(p.name)

    r('GET', '/', () => ({ kind: 'json', body: { title: 'qdrant - vector search engine', version: QDRANT_VERSION } }))
    r('GET', '/healthz', () => ({ kind: 'text', text: 'healthz check passed' }))
    r('GET', '/livez', () => ({ kind: 'text', text: 'livez check passed' }))
    r('GET', '/readyz', () => ({ kind: 'text', text: 'all shards are ready' }))

    r('GET', '/collections', () => ({
      kind: 'result',
      result: { collections: [...this.store.collections.keys()].map(name => ({ name })) }
    }))
    r('GET', '/collections/:name', (_q, p) => ({ kind: 'result', result: col(p).info() }))
    r('PUT', '/collections/:name', (q, p) => {
      validateCollectionName(p.name)
      const config = parseCreateCollection(requireBody(q.body, 'CreateCollection'))
      this.store.create(p.name, config)
      return { kind: 'result', result: true }
    })
    r('PATCH', '/collections/:name', (q, p) => {
      const c = col(p)
      const body = optionalBody(q.body, 'UpdateCollection')
      if (isObject(body.hnsw_config)) c.config.hnsw_config = { ...c.config.hnsw_config, ...body.hnsw_config }
      if (isObject(body.optimizers_config)) {
        c.config.optimizers_config = { ...c.config.optimizers_config, ...body.optimizers_config }
      }
      if (isObject(body.metadata)) c.config.metadata = { ...c.config.metadata, ...body.metadata }
      return { kind: 'result', result: true }
    })
    r('DELETE', '/collections/:name', (_q, p) => ({ kind: 'result', result: this.store.delete(p.name) }))
    r('GET', '/collections/:name/exists', (_q, p) => ({
      kind: 'result',
      result: { exists: this.store.collections.has(p.name) }
    }))

    r('PUT', '/collections/:name/index', (q, p) => {
      const c = col(p)
      const body = requireBody(q.body, 'CreateFieldIndex')
      if (typeof body.field_name !== 'string') throw formatError('missing field `field_name`')
      parseKeyPath(body.field_name)
      const decl = parseFieldSchema(c, body.field_name, body.field_schema)
      const op = c.createPayloadIndex(body.field_name, decl)
      return { kind: 'result', result: updateResult(op, queryBool(q.query, 'wait')) }
    })
    r('DELETE', '/collections/:name/index/:field', (q, p) => {
      const c = col(p)
      const op = c.deletePayloadIndex(p.field)
      return { kind: 'result', result: updateResult(op, queryBool(q.query, 'wait')) }
    })

    r('PUT', '/collections/:name/points', (q, p) => {
      const c = col(p)
      const body = requireBody(q.body, 'PointInsertOperations')
      const wait = queryBool(q.query, 'wait')
      const mode = parseUpdateMode(body.update_mode)
      const updateFilter = body.update_filter ? compileFilter(body.update_filter) : null
      const writes = parseWrites(c, body)
      const op = c.upsert(writes, mode, updateFilter)
      return { kind: 'result', result: updateResult(op, wait) }
    })
    r('POST', '/collections/:name/points', (q, p) => {
      const c = col(p)
      const body = requireBody(q.body, 'PointRequest')
      if (!Array.isArray(body.ids)) throw formatError('missing field `ids`')
      const ids = body.ids.map(v => parsePointId(v))
      const sel = parseWithPayload(body.with_payload, true)
      const withVector = parseWithVector(body.with_vector, false)
      return { kind: 'result', result: c.retrieve(ids).map(rec => recordOut(c, rec, sel, withVector)) }
    })
    r('GET', '/collections/:name/points/:id', (_q, p) => {
      const c = col(p)
      const id = parsePathPointId(p.id)
      const rec = c.points.get(id.key)
      if (!rec) throw pointNotFound(id)
      return { kind: 'result', result: recordOut(c, rec, x => x, true) }
    })
    r('POST', '/collections/:name/points/delete', (q, p) => {
      const c = col(p)
      const body = requireBody(q.body, 'PointsSelector')
      const { ids, filter } = parseSelector(body)
      const op = c.deleteRecords(c.select(ids, filter))
      return { kind: 'result', result: updateResult(op, queryBool(q.query, 'wait')) }
    })
    r('POST', '/collections/:name/points/payload', (q, p) => {
      const c = col(p)
      const body = requireBody(q.body, 'SetPayload')
      const payload = parsePayload(body.payload)
      if (body.payload === undefined) throw formatError('missing field `payload`')
      const key = typeof body.key === 'string' && body.key !== '' ? body.key : null
      const recs = payloadTargets(c, body)
      const op = c.updatePayloads(recs, old => (key ? setAtKey(old, key, payload) : { ...old, ...payload }))
      return { kind: 'result', result: updateResult(op, queryBool(q.query, 'wait')) }
    })
    r('PUT', '/collections/:name/points/payload', (q, p) => {
      const c = col(p)
      const body = requireBody(q.body, 'SetPayload')
      if (body.payload === undefined) throw formatError('missing field `payload`')
      const payload = parsePayload(body.payload)
      const key = typeof body.key === 'string' && body.key !== '' ? body.key : null
      const recs = payloadTargets(c, body)
      const op = c.updatePayloads(recs, old => (key ? setAtKey(old, key, payload) : { ...payload }))
      return { kind: 'result', result: updateResult(op, queryBool(q.query, 'wait')) }
    })
    r('POST', '/collections/:name/points/payload/delete', (q, p) => {
      const c = col(p)
      const body = requireBody(q.body, 'DeletePayload')
      if (!Array.isArray(body.keys) || !body.keys.every(k => typeof k === 'string')) {
        throw formatError('missing field `keys`')
      }
      const keys = body.keys as string[]
      const recs = payloadTargets(c, body)
      const op = c.updatePayloads(recs, old => {
        const out = deepCopy(old) as Payload
        for (const k of keys) omitPath(out, k)
        return out
      })
      return { kind: 'result', result: updateResult(op, queryBool(q.query, 'wait')) }
    })
    r('POST', '/collections/:name/points/payload/clear', (q, p) => {
      const c = col(p)
      const body = requireBody(q.body, 'PointsSelector')
      const { ids, filter } = parseSelector(body)
      if (ids) for (const id of ids) if (!c.points.has(id.key)) throw pointNotFound(id)
      const op = c.updatePayloads(c.select(ids, filter), () => ({}))
      return { kind: 'result', result: updateResult(op, queryBool(q.query, 'wait')) }
    })
    r('POST', '/collections/:name/points/scroll', (q, p) => {
      const c = col(p)
      const body = optionalBody(q.body, 'ScrollRequest')
      const limit = limitParam(body.limit, 10)
      const sel = parseWithPayload(body.with_payload, true)
      const withVector = parseWithVector(body.with_vector, false)
      if (body.order_by !== undefined && body.order_by !== null) {
        return { kind: 'result', result: scrollOrdered(c, body, limit, sel, withVector) }
      }
      const from = body.offset === undefined || body.offset === null ? null : parsePointId(body.offset).key
      const { recs, next } = c.scroll(compileFilter(body.filter), limit, from)
      return {
        kind: 'result',
        result: {
          points: recs.map(rec => recordOut(c, rec, sel, withVector)),
          next_page_offset: next ? next.id : null
        }
      }
    })
    r('POST', '/collections/:name/points/count', (q, p) => {
      const c = col(p)
      const body = optionalBody(q.body, 'CountRequest')
      return { kind: 'result', result: { count: c.count(compileFilter(body.filter)) } }
    })
    r('POST', '/collections/:name/points/query', (q, p) => {
      const c = col(p)
      const spec = parseQueryRequest(c, optionalBody(q.body, 'QueryRequest'))
      return { kind: 'result', result: { points: runSearch(c, spec) } }
    })
    r('POST', '/collections/:name/points/query/batch', (q, p) => {
      const c = col(p)
      const body = requireBody(q.body, 'QueryRequestBatch')
      if (!Array.isArray(body.searches)) throw formatError('missing field `searches`')
      const specs = body.searches.map(s => parseQueryRequest(c, requireBody(s, 'QueryRequest')))
      return { kind: 'result', result: specs.map(s => ({ points: runSearch(c, s) })) }
    })
    // Legacy search API (absent from the v1.19 OpenAPI document, kept for older callers).
    r('POST', '/collections/:name/points/search', (q, p) => {
      const c = col(p)
      const body = requireBody(q.body, 'SearchRequest')
      let vector = body.vector
      if (isObject(vector) && 'vector' in vector) {
        if (vector.name !== undefined && vector.name !== '') {
          throw wrongInput(`Not existing vector name error: ${String(vector.name)}`)
        }
        vector = vector.vector
      }
      if (vector === undefined) throw formatError('missing field `vector`')
      if (body.limit === undefined || body.limit === null) throw formatError('missing field `limit`')
      const threshold = body.score_threshold
      const spec: SearchSpec = {
        vector: c.prepareVector(vector),
        filter: compileFilter(body.filter),
        limit: limitParam(body.limit, 10),
        offset: offsetParam(body.offset),
        threshold: typeof threshold === 'number' ? threshold : null,
        withPayload: parseWithPayload(body.with_payload, false),
        withVector: parseWithVector(body.with_vector, false)
      }
      return { kind: 'result', result: runSearch(c, spec) }
    })
  }

  /** Finds the route; returns 'no-path' / 'no-method' when nothing matches. */
  match(
    method: string,
    segments: string[]
  ): { handler: Handler; params: Record<string, string> } | 'no-path' | 'no-method' {
    let pathMatched = false
    let best: { handler: Handler; params: Record<string, string>; literals: number } | null = null
    for (const route of this.routes) {
      if (route.parts.length !== segments.length) continue
      const params: Record<string, string> = {}
      let literals = 0
      let ok = true
      for (let i = 0; i < route.parts.length; i++) {
        const part = route.parts[i]
        if (part.startsWith(':')) params[part.slice(1)] = segments[i]
        else if (part === segments[i]) literals++
        else {
          ok = false
          break
        }
      }
      if (!ok) continue
      pathMatched = true
      if (route.method !== method) continue
      if (!best || literals > best.literals) best = { handler: route.handler, params, literals }
    }
    if (best) return { handler: best.handler, params: best.params }
    return pathMatched ? 'no-method' : 'no-path'
  }
}
