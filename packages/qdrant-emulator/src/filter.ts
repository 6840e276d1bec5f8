/**
 * Qdrant filter evaluation: a filter is compiled once per request into a predicate over
 * (payload, point key).
 *
 * Semantics follow Qdrant's documentation:
 *  - must: every condition; must_not: none; should: at least one (when non-empty);
 *    min_should: at least min_count of its conditions. Each clause takes one condition or a list.
 *  - a condition is a field condition {key, match|range|values_count|is_empty|is_null}, an
 *    {is_empty:{key}}, {is_null:{key}}, {has_id:[..]}, {has_vector}, {nested:{key, filter}}, or a
 *    nested filter.
 *  - payload arrays match element-wise: {match:{value:x}} holds when any element equals x,
 *    range holds when any element is in range; a missing field satisfies no match/range condition.
 *  - keys are JSON paths: `a`, `a.b`, `a[].b`, `a[0].b`, `"dotted.key"`.
 */
import { formatError, validationError } from './errors.ts'
import { parsePointId } from './ids.ts'

export type Payload = Record<string, unknown>
export type PointPredicate = ((payload: Payload, key: string) => boolean) & {
  /** set on a compiled filter whose top-level `must` matches a top-level field to given values */
  equality?: FieldEquality
}

/**
 * Values a filter requires of a top-level payload field, from a `match` in its top-level
 * `must`: a collection with a payload index on the field reads only those points, as Qdrant
 * does, and the predicate still decides (the values only narrow the candidates).
 */
export interface FieldEquality {
  field: string
  values: unknown[]
}

type Segment = { name: string; index?: number | 'all' }

const ALWAYS: PointPredicate = () => true

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function bad(message: string): Error {
  return formatError(message)
}

export function parseKeyPath(key: string): Segment[] {
  const segments: Segment[] = []
  let i = 0
  while (i < key.length) {
    let name = ''
    if (key[i] === '"') {
      const end = key.indexOf('"', i + 1)
      if (end < 0) throw bad(`Invalid json path: ${key}`)
      name = key.slice(i + 1, end)
      i = end + 1
    } else {
      while (i < key.length && key[i] !== '.' && key[i] !== '[') name += key[i++]
    }
    const seg: Segment = { name }
    segments.push(seg)
    while (key[i] === '[') {
      const end = key.indexOf(']', i)
      if (end < 0) throw bad(`Invalid json path: ${key}`)
      const inner = key.slice(i + 1, end)
      const idx: number | 'all' = inner === '' ? 'all' : Number(inner)
      if (idx !== 'all' && (!Number.isInteger(idx) || idx < 0)) throw bad(`Invalid json path: ${key}`)
      // a second bracket applies to the elements of the previous selection
      if (seg.index !== undefined) segments.push({ name: '', index: idx })
      else seg.index = idx
      i = end + 1
    }
    if (key[i] === '.') i++
    else if (i < key.length) throw bad(`Invalid json path: ${key}`)
  }
  if (segments.length === 0 || segments[0].name === '') throw bad(`Invalid json path: ${key}`)
  return segments
}

/** Values reachable through the path (arrays along the way are traversed when `[]` is used). */
function reach(payload: unknown, path: Segment[]): unknown[] {
  let current: unknown[] = [payload]
  for (const seg of path) {
    const next: unknown[] = []
    for (const item of current) {
      let v: unknown = item
      if (seg.name !== '') {
        if (!isObject(item) || !Object.prototype.hasOwnProperty.call(item, seg.name)) continue
        v = item[seg.name]
      }
      if (seg.index === undefined) next.push(v)
      else if (Array.isArray(v)) {
        if (seg.index === 'all') next.push(...v)
        else if (seg.index < v.length) next.push(v[seg.index])
      }
    }
    current = next
  }
  return current
}

/** Leaf values with arrays flattened one level, as Qdrant indexes them. */
function leafValues(payload: unknown, path: Segment[]): unknown[] {
  const out: unknown[] = []
  for (const v of reach(payload, path)) {
    if (Array.isArray(v)) out.push(...v)
    else out.push(v)
  }
  return out
}

function looseEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if ((typeof a === 'bigint' || typeof a === 'number') && (typeof b === 'bigint' || typeof b === 'number')) {
    // loose equality on purpose: a bigint id equals the same number
    return a == b
  }
  return false
}

function isMatchScalar(v: unknown): boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean'
}

function compileMatch(path: Segment[], match: unknown): PointPredicate {
  if (!isObject(match)) throw bad('data did not match any variant of untagged enum Match')
  if ('value' in match) {
    const target = match.value
    if (!isMatchScalar(target)) throw bad('data did not match any variant of untagged enum ValueVariants')
    return payload => leafValues(payload, path).some(v => looseEqual(v, target))
  }
  if ('any' in match) {
    const list = match.any
    if (!Array.isArray(list) || !list.every(isMatchScalar))
      throw bad('data did not match any variant of untagged enum AnyVariants')
    if (list.length === 0) return () => false
    const set = new Set<unknown>(list.map(v => (typeof v === 'bigint' ? Number(v) : v)))
    return payload => leafValues(payload, path).some(v => set.has(typeof v === 'bigint' ? Number(v) : v))
  }
  if ('except' in match) {
    const list = match.except
    if (!Array.isArray(list) || !list.every(isMatchScalar))
      throw bad('data did not match any variant of untagged enum AnyVariants')
    const set = new Set<unknown>(list.map(v => (typeof v === 'bigint' ? Number(v) : v)))
    // Holds when the field has at least one value outside the list; a missing field does not match.
    return payload => leafValues(payload, path).some(v => v !== null && !set.has(typeof v === 'bigint' ? Number(v) : v))
  }
  if ('text' in match || 'phrase' in match) {
    const text = (match.text ?? match.phrase) as unknown
    if (typeof text !== 'string') throw bad('invalid type for `text`, expected a string')
    return payload => leafValues(payload, path).some(v => typeof v === 'string' && v.includes(text))
  }
  if ('text_any' in match) {
    const text = match.text_any
    if (typeof text !== 'string') throw bad('invalid type for `text_any`, expected a string')
    const words = text.split(/\s+/).filter(Boolean)
    return payload => leafValues(payload, path).some(v => typeof v === 'string' && words.some(w => v.includes(w)))
  }
  throw bad('data did not match any variant of untagged enum Match')
}

type Bounds = { gt?: number; gte?: number; lt?: number; lte?: number }

function readBounds(range: Record<string, unknown>, toNumber: (v: unknown) => number | undefined): Bounds {
  const out: Bounds = {}
  for (const k of ['gt', 'gte', 'lt', 'lte'] as const) {
    const raw = range[k]
    if (raw === undefined || raw === null) continue
    const n = toNumber(raw)
    if (n === undefined) throw bad(`invalid value for range \`${k}\`: ${JSON.stringify(raw)}`)
    out[k] = n
  }
  return out
}

function inBounds(n: number, b: Bounds): boolean {
  return (
    (b.gt === undefined || n > b.gt) &&
    (b.gte === undefined || n >= b.gte) &&
    (b.lt === undefined || n < b.lt) &&
    (b.lte === undefined || n <= b.lte)
  )
}

function compileRange(path: Segment[], range: unknown): PointPredicate {
  if (!isObject(range)) throw bad('data did not match any variant of untagged enum RangeInterface')
  const boundValues = ['gt', 'gte', 'lt', 'lte'].map(k => range[k]).filter(v => v !== undefined && v !== null)
  const isDatetime = boundValues.length > 0 && boundValues.every(v => typeof v === 'string')
  if (isDatetime) {
    const b = readBounds(range, v => {
      const t = typeof v === 'string' ? Date.parse(v) : NaN
      return Number.isNaN(t) ? undefined : t
    })
    return payload =>
      leafValues(payload, path).some(v => {
        if (typeof v !== 'string') return false
        const t = Date.parse(v)
        return !Number.isNaN(t) && inBounds(t, b)
      })
  }
  const b = readBounds(range, v => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined))
  return payload =>
    leafValues(payload, path).some(v => {
      if (typeof v === 'number') return inBounds(v, b)
      if (typeof v === 'bigint') return inBounds(Number(v), b)
      return false
    })
}

function isEmptyAt(payload: Payload, path: Segment[]): boolean {
  return leafValues(payload, path).every(v => v === null)
}

function isNullAt(payload: Payload, path: Segment[]): boolean {
  return reach(payload, path).some(v => v === null || (Array.isArray(v) && v.length > 0 && v.every(x => x === null)))
}

function keyFrom(obj: unknown, what: string): Segment[] {
  if (!isObject(obj) || typeof obj.key !== 'string') throw bad(`missing field \`key\` in ${what}`)
  return parseKeyPath(obj.key)
}

function compileCondition(cond: unknown, nested: boolean): PointPredicate {
  if (!isObject(cond)) throw bad('data did not match any variant of untagged enum Condition')
  if ('key' in cond) {
    const path = keyFrom(cond, 'FieldCondition')
    const parts: PointPredicate[] = []
    if (cond.match !== undefined && cond.match !== null) parts.push(compileMatch(path, cond.match))
    if (cond.range !== undefined && cond.range !== null) parts.push(compileRange(path, cond.range))
    if (cond.values_count !== undefined && cond.values_count !== null) {
      if (!isObject(cond.values_count)) throw bad('invalid type for `values_count`')
      const b = readBounds(cond.values_count, v => (typeof v === 'number' ? v : undefined))
      parts.push(payload => inBounds(leafValues(payload, path).length, b))
    }
    if (cond.is_empty === true) parts.push(payload => isEmptyAt(payload, path))
    if (cond.is_empty === false) parts.push(payload => !isEmptyAt(payload, path))
    if (cond.is_null === true) parts.push(payload => isNullAt(payload, path))
    if (cond.is_null === false) parts.push(payload => !isNullAt(payload, path))
    for (const geo of ['geo_bounding_box', 'geo_radius', 'geo_polygon', 'datetime_range']) {
      if (cond[geo] !== undefined && cond[geo] !== null) {
        if (geo === 'datetime_range') parts.push(compileRange(path, cond[geo]))
        else throw bad(`the emulator does not support \`${geo}\` conditions`)
      }
    }
    if (parts.length === 0) throw validationError(['At least one field condition must be specified'])
    if (parts.length === 1) return parts[0]
    return (payload, key) => parts.every(p => p(payload, key))
  }
  if ('is_empty' in cond) {
    const path = keyFrom(cond.is_empty, 'IsEmptyCondition')
    return payload => isEmptyAt(payload, path)
  }
  if ('is_null' in cond) {
    const path = keyFrom(cond.is_null, 'IsNullCondition')
    return payload => isNullAt(payload, path)
  }
  if ('has_id' in cond) {
    if (nested) throw bad('has_id is not supported inside a nested condition')
    if (!Array.isArray(cond.has_id)) throw bad('invalid type for `has_id`, expected a sequence')
    const keys = new Set(cond.has_id.map(v => parsePointId(v).key))
    return (_payload, key) => keys.has(key)
  }
  if ('has_vector' in cond) {
    const name = cond.has_vector
    return () => name === '' || name === null
  }
  if ('nested' in cond) {
    const n = cond.nested
    const path = keyFrom(n, 'NestedCondition')
    if (!isObject(n) || !isObject(n.filter)) throw bad('missing field `filter` in NestedCondition')
    const inner = compileFilterInternal(n.filter, true)
    return (payload, key) => leafValues(payload, path).some(el => isObject(el) && inner(el, key))
  }
  if ('must' in cond || 'should' in cond || 'must_not' in cond || 'min_should' in cond) {
    return compileFilterInternal(cond, nested)
  }
  throw bad('data did not match any variant of untagged enum Condition')
}

function conditionList(v: unknown, nested: boolean): PointPredicate[] {
  if (v === undefined || v === null) return []
  const list = Array.isArray(v) ? v : [v]
  return list.map(c => compileCondition(c, nested))
}

function compileFilterInternal(filter: unknown, nested: boolean): PointPredicate {
  if (filter === undefined || filter === null) return ALWAYS
  if (!isObject(filter)) throw bad('invalid type for `filter`, expected struct Filter')
  const must = conditionList(filter.must, nested)
  const mustNot = conditionList(filter.must_not, nested)
  const should = conditionList(filter.should, nested)
  let minShould: { preds: PointPredicate[]; min: number } | null = null
  if (filter.min_should !== undefined && filter.min_should !== null) {
    const ms = filter.min_should
    if (!isObject(ms) || typeof ms.min_count !== 'number') throw bad('missing field `min_count` in MinShould')
    minShould = { preds: conditionList(ms.conditions, nested), min: ms.min_count }
  }
  if (must.length === 0 && mustNot.length === 0 && should.length === 0 && !minShould) return ALWAYS
  return (payload, key) => {
    for (const p of must) if (!p(payload, key)) return false
    for (const p of mustNot) if (p(payload, key)) return false
    if (should.length > 0 && !should.some(p => p(payload, key))) return false
    if (minShould) {
      let n = 0
      for (const p of minShould.preds) if (p(payload, key)) n++
      if (n < minShould.min) return false
    }
    return true
  }
}

/** Compiles a request's `filter` (undefined/null = everything). Throws a 400 QdrantError on a malformed filter. */
export function compileFilter(filter: unknown): PointPredicate {
  const pred = compileFilterInternal(filter, false)
  const equality = isObject(filter) ? fieldEquality(filter.must) : undefined
  return equality === undefined
    ? pred
    : Object.assign((payload: Payload, key: string) => pred(payload, key), { equality })
}

/** The first `{key, match: {value | any}}` on a top-level field among `must` conditions. */
function fieldEquality(must: unknown): FieldEquality | undefined {
  for (const cond of Array.isArray(must) ? must : [must]) {
    if (!isObject(cond) || typeof cond.key !== 'string' || !isObject(cond.match)) continue
    const path = parseKeyPath(cond.key)
    if (path.length !== 1 || path[0].index !== undefined) continue
    if ('value' in cond.match) return { field: path[0].name, values: [cond.match.value] }
    if (Array.isArray(cond.match.any)) return { field: path[0].name, values: cond.match.any }
  }
  return undefined
}

/**
 * How a payload index keys a value: the scalars of the field (arrays element-wise, as
 * matching does), bigints as numbers so that 5n and 5 meet, as they match.
 */
export function indexKeys(value: unknown): unknown[] {
  const out: unknown[] = []
  for (const v of Array.isArray(value) ? value : [value]) {
    if (typeof v === 'bigint') out.push(Number(v))
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out.push(v)
  }
  return out
}

export function isMatchAll(pred: PointPredicate): boolean {
  return pred === ALWAYS
}

/** Predicate: the payload has a non-null value at `key` (used for payload_schema.points). */
export function hasValueAt(key: string): (payload: Payload) => boolean {
  let path: Segment[]
  try {
    path = parseKeyPath(key)
  } catch {
    return () => false
  }
  return payload => leafValues(payload, path).some(v => v !== null)
}
