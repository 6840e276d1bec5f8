/**
 * In-memory collections: points (id, payload, version), vectors in chunked Float32Array arenas,
 * payload index declarations, exact (brute-force) search, scroll in id order and counting.
 */
import { collectionAlreadyExists, collectionNotFound, formatError, vectorDimensionError, wrongInput } from './errors.ts'
import { hasValueAt, indexKeys, isMatchAll, parseKeyPath, type Payload, type PointPredicate } from './filter.ts'
import type { ParsedId, PointId } from './ids.ts'

export type Distance = 'Cosine' | 'Euclid' | 'Dot' | 'Manhattan'
export const DISTANCES: readonly Distance[] = ['Cosine', 'Euclid', 'Dot', 'Manhattan']
export const PAYLOAD_SCHEMA_TYPES = ['keyword', 'integer', 'float', 'geo', 'text', 'bool', 'datetime', 'uuid'] as const
export type PayloadSchemaType = (typeof PAYLOAD_SCHEMA_TYPES)[number]

export interface PointRec {
  key: string
  id: PointId
  payload: Payload
  slot: number
  version: number
}

export interface ScoredRec {
  rec: PointRec
  score: number
}

export interface PayloadIndexDecl {
  data_type: PayloadSchemaType
  params?: Record<string, unknown>
}

export type UpdateMode = 'upsert' | 'insert_only' | 'update_only'

export interface PointWrite {
  parsed: ParsedId
  vector: Float32Array
  payload: Payload
}

/** Vectors live in fixed-size Float32Array chunks so that 100k x 1024 dims never needs one huge realloc. */
class VectorArena {
  readonly dim: number
  readonly chunkSlots: number
  readonly chunks: Float32Array[] = []
  private next = 0
  private readonly freeSlots: number[] = []

  constructor(dim: number) {
    this.dim = dim
    this.chunkSlots = Math.max(64, Math.min(8192, Math.floor((4 * 1024 * 1024) / dim)))
  }

  alloc(): number {
    const free = this.freeSlots.pop()
    if (free !== undefined) return free
    const slot = this.next++
    const chunk = Math.floor(slot / this.chunkSlots)
    if (chunk >= this.chunks.length) this.chunks.push(new Float32Array(this.chunkSlots * this.dim))
    return slot
  }

  release(slot: number): void {
    this.freeSlots.push(slot)
  }

  write(slot: number, v: Float32Array): void {
    const chunk = this.chunks[Math.floor(slot / this.chunkSlots)]
    chunk.set(v, (slot % this.chunkSlots) * this.dim)
  }

  view(slot: number): Float32Array {
    const chunk = this.chunks[Math.floor(slot / this.chunkSlots)]
    const off = (slot % this.chunkSlots) * this.dim
    return chunk.subarray(off, off + this.dim)
  }
}

/** Binary heap that keeps the `capacity` best items; root = worst kept. */
class TopK<T> {
  private readonly items: T[] = []
  constructor(
    private readonly capacity: number,
    /** true when a ranks strictly better than b */
    private readonly better: (a: T, b: T) => boolean
  ) {}

  push(item: T): void {
    const h = this.items
    if (this.capacity <= 0) return
    if (h.length < this.capacity) {
      h.push(item)
      let i = h.length - 1
      while (i > 0) {
        const p = (i - 1) >> 1
        if (this.better(h[p], h[i])) {
          ;[h[p], h[i]] = [h[i], h[p]]
          i = p
        } else break
      }
      return
    }
    if (!this.better(item, h[0])) return
    h[0] = item
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let worst = i
      if (l < h.length && this.better(h[worst], h[l])) worst = l
      if (r < h.length && this.better(h[worst], h[r])) worst = r
      if (worst === i) break
      ;[h[worst], h[i]] = [h[i], h[worst]]
      i = worst
    }
  }

  sorted(): T[] {
    return [...this.items].sort((a, b) => (this.better(a, b) ? -1 : this.better(b, a) ? 1 : 0))
  }
}

export interface CollectionConfigInput {
  size: number
  distance: Distance
  hnsw_config?: Record<string, unknown>
  optimizers_config?: Record<string, unknown>
  wal_config?: Record<string, unknown>
  params?: Record<string, unknown>
  quantization_config?: unknown
  strict_mode_config?: Record<string, unknown>
  metadata?: Record<string, unknown>
  on_disk?: boolean
}

export class Collection {
  readonly name: string
  readonly size: number
  readonly distance: Distance
  readonly config: CollectionConfigInput
  readonly points = new Map<string, PointRec>()
  readonly payloadIndexes = new Map<string, PayloadIndexDecl>()
  /**
   * Payload indexes on top-level fields as value -> point keys. A filtered read whose
   * filter requires such a field to equal some values (FieldEquality) reads only those
   * points, as Qdrant does, instead of every point of the collection.
   */
  private readonly valueIndexes = new Map<string, Map<unknown, Set<string>>>()
  private readonly arena: VectorArena
  private nextOperationId = 0
  private sortedKeys: string[] | null = []

  constructor(name: string, config: CollectionConfigInput) {
    this.name = name
    this.size = config.size
    this.distance = config.distance
    this.config = config
    this.arena = new VectorArena(config.size)
  }

  /** Sequential operation number (Qdrant's UpdateResult.operation_id). */
  nextOperation(): number {
    return this.nextOperationId++
  }

  /** Checks dimension and prepares a vector for storage / querying (normalised for Cosine). */
  prepareVector(raw: unknown): Float32Array {
    let values: unknown = raw
    if (values !== null && typeof values === 'object' && !Array.isArray(values)) {
      const named = values as Record<string, unknown>
      const names = Object.keys(named)
      const unknownName = names.find(n => n !== '')
      if (unknownName !== undefined) throw wrongInput(`Not existing vector name error: ${unknownName}`)
      if (names.length === 0) throw wrongInput('Vector is missing')
      values = named['']
    }
    if (!Array.isArray(values)) throw formatError('data did not match any variant of untagged enum VectorStruct')
    const n = values.length
    const v = new Float32Array(n)
    let sum = 0
    for (let i = 0; i < n; i++) {
      const x: unknown = values[i]
      if (typeof x !== 'number' || !Number.isFinite(x))
        throw formatError(`invalid type: ${JSON.stringify(x)}, expected f32`)
      v[i] = x
      sum += v[i] * v[i]
    }
    if (n !== this.size) throw vectorDimensionError(this.size, n)
    if (this.distance !== 'Cosine') return v
    const len = Math.sqrt(sum)
    if (len < 1.1920929e-7) return v
    for (let i = 0; i < n; i++) v[i] = v[i] / len
    return v
  }

  vectorOf(rec: PointRec): Float32Array {
    return this.arena.view(rec.slot)
  }

  private markDirty(): void {
    this.sortedKeys = null
  }

  private orderedKeys(): string[] {
    if (this.sortedKeys === null) this.sortedKeys = [...this.points.keys()].sort()
    return this.sortedKeys
  }

  upsert(writes: PointWrite[], mode: UpdateMode, updateFilter: PointPredicate | null): number {
    const op = this.nextOperation()
    for (const w of writes) {
      const existing = this.points.get(w.parsed.key)
      if (existing) {
        if (mode === 'insert_only') continue
        if (updateFilter && !updateFilter(existing.payload, existing.key)) continue
        this.arena.write(existing.slot, w.vector)
        this.unindex(existing)
        existing.payload = w.payload
        this.index(existing)
        existing.version = op
        continue
      }
      if (mode === 'update_only') continue
      const slot = this.arena.alloc()
      this.arena.write(slot, w.vector)
      const rec = { key: w.parsed.key, id: w.parsed.id, payload: w.payload, slot, version: op }
      this.points.set(rec.key, rec)
      this.index(rec)
      this.markDirty()
    }
    return op
  }

  /** Records matching either explicit ids or a filter (explicit ids that do not exist are ignored). */
  select(ids: ParsedId[] | null, pred: PointPredicate | null): PointRec[] {
    if (ids) {
      const out: PointRec[] = []
      const seen = new Set<string>()
      for (const id of ids) {
        const rec = this.points.get(id.key)
        if (rec && !seen.has(rec.key)) {
          seen.add(rec.key)
          if (!pred || pred(rec.payload, rec.key)) out.push(rec)
        }
      }
      return out
    }
    const out: PointRec[] = []
    const p = pred ?? (() => true)
    for (const rec of this.candidates(p)) if (p(rec.payload, rec.key)) out.push(rec)
    return out
  }

  deleteRecords(recs: PointRec[]): number {
    const op = this.nextOperation()
    for (const rec of recs) {
      if (this.points.delete(rec.key)) {
        this.arena.release(rec.slot)
        this.unindex(rec)
      }
    }
    if (recs.length > 0) this.markDirty()
    return op
  }

  /** Applies fn to each selected record's payload and bumps their version. */
  updatePayloads(recs: PointRec[], fn: (payload: Payload) => Payload): number {
    const op = this.nextOperation()
    for (const rec of recs) {
      this.unindex(rec)
      rec.payload = fn(rec.payload)
      this.index(rec)
      rec.version = op
    }
    return op
  }

  retrieve(ids: ParsedId[]): PointRec[] {
    const out: PointRec[] = []
    const seen = new Set<string>()
    for (const id of ids) {
      if (seen.has(id.key)) continue
      seen.add(id.key)
      const rec = this.points.get(id.key)
      if (rec) out.push(rec)
    }
    return out
  }

  count(pred: PointPredicate): number {
    if (isMatchAll(pred)) return this.points.size
    let n = 0
    for (const rec of this.candidates(pred)) if (pred(rec.payload, rec.key)) n++
    return n
  }

  /** Points in id order starting at `fromKey` (inclusive); returns up to limit and the next key. */
  scroll(pred: PointPredicate, limit: number, fromKey: string | null): { recs: PointRec[]; next: PointRec | null } {
    const indexed = this.indexedCandidates(pred)
    const keys = indexed === undefined ? this.orderedKeys() : indexed.map(rec => rec.key).sort()
    let lo = 0
    if (fromKey !== null) {
      let hi = keys.length
      while (lo < hi) {
        const mid = (lo + hi) >> 1
        if (keys[mid] < fromKey) lo = mid + 1
        else hi = mid
      }
    }
    const recs: PointRec[] = []
    for (let i = lo; i < keys.length; i++) {
      const rec = this.points.get(keys[i])
      if (!rec || !pred(rec.payload, rec.key)) continue
      if (recs.length === limit) return { recs, next: rec }
      recs.push(rec)
    }
    return { recs, next: null }
  }

  /** True when larger scores are better (Cosine, Dot); distances (Euclid, Manhattan) rank ascending. */
  get higherIsBetter(): boolean {
    return this.distance === 'Cosine' || this.distance === 'Dot'
  }

  private scoreOf(query: Float32Array, rec: PointRec): number {
    const v = this.arena.view(rec.slot)
    const n = this.size
    let s = 0
    switch (this.distance) {
      case 'Cosine':
      case 'Dot':
        for (let i = 0; i < n; i++) s += v[i] * query[i]
        return Math.fround(s)
      case 'Euclid':
        for (let i = 0; i < n; i++) {
          const d = v[i] - query[i]
          s += d * d
        }
        return Math.fround(Math.sqrt(s))
      case 'Manhattan':
        for (let i = 0; i < n; i++) s += Math.abs(v[i] - query[i])
        return Math.fround(s)
    }
  }

  /** Exact search: filter first, score the survivors, keep the best offset+limit. */
  search(
    query: Float32Array,
    pred: PointPredicate,
    limit: number,
    offset: number,
    threshold: number | null
  ): ScoredRec[] {
    const higher = this.higherIsBetter
    const better = (a: ScoredRec, b: ScoredRec): boolean => {
      if (a.score !== b.score) return higher ? a.score > b.score : a.score < b.score
      return a.rec.key < b.rec.key
    }
    const top = new TopK<ScoredRec>(limit + offset, better)
    const all = isMatchAll(pred)
    for (const rec of this.candidates(pred)) {
      if (!all && !pred(rec.payload, rec.key)) continue
      const score = this.scoreOf(query, rec)
      if (threshold !== null && (higher ? score < threshold : score > threshold)) continue
      top.push({ rec, score })
    }
    return top.sorted().slice(offset)
  }

  /** Points without a query: id order, score 0 (Query API without `query`). */
  firstByIds(pred: PointPredicate, limit: number, offset: number): ScoredRec[] {
    const { recs } = this.scroll(pred, limit + offset, null)
    return recs.slice(offset).map(rec => ({ rec, score: 0 }))
  }

  createPayloadIndex(field: string, decl: PayloadIndexDecl): number {
    this.payloadIndexes.set(field, decl)
    const name = topLevelField(field)
    if (name !== undefined) {
      this.valueIndexes.set(name, new Map())
      for (const rec of this.points.values()) this.indexField(name, rec, true)
    }
    return this.nextOperation()
  }

  deletePayloadIndex(field: string): number {
    this.payloadIndexes.delete(field)
    const name = topLevelField(field)
    if (name !== undefined) this.valueIndexes.delete(name)
    return this.nextOperation()
  }

  /** The points a read with `pred` has to look at: an index's candidates, or all of them. */
  private candidates(pred: PointPredicate): Iterable<PointRec> {
    return this.indexedCandidates(pred) ?? this.points.values()
  }

  private indexedCandidates(pred: PointPredicate): PointRec[] | undefined {
    const eq = pred.equality
    const index = eq === undefined ? undefined : this.valueIndexes.get(eq.field)
    if (eq === undefined || index === undefined) return undefined
    const keys = new Set<string>()
    for (const value of indexKeys(eq.values)) for (const key of index.get(value) ?? []) keys.add(key)
    return [...keys].map(key => this.points.get(key)!)
  }

  private index(rec: PointRec): void {
    for (const field of this.valueIndexes.keys()) this.indexField(field, rec, true)
  }

  private unindex(rec: PointRec): void {
    for (const field of this.valueIndexes.keys()) this.indexField(field, rec, false)
  }

  private indexField(field: string, rec: PointRec, add: boolean): void {
    const index = this.valueIndexes.get(field)!
    for (const value of indexKeys(rec.payload[field])) {
      let keys = index.get(value)
      if (add) {
        if (keys === undefined) index.set(value, (keys = new Set()))
        keys.add(rec.key)
      } else if (keys !== undefined) {
        keys.delete(rec.key)
        if (keys.size === 0) index.delete(value)
      }
    }
  }

  payloadSchema(): Record<string, { data_type: string; params?: Record<string, unknown>; points: number }> {
    const out: Record<string, { data_type: string; params?: Record<string, unknown>; points: number }> = {}
    for (const [field, decl] of this.payloadIndexes) {
      const has = hasValueAt(field)
      let n = 0
      for (const rec of this.points.values()) if (has(rec.payload)) n++
      out[field] = { data_type: decl.data_type, ...(decl.params ? { params: decl.params } : {}), points: n }
    }
    return out
  }

  /** GET /collections/{name} result, in the shape of Qdrant 1.19's CollectionInfo. */
  info(): Record<string, unknown> {
    const c = this.config
    return {
      status: 'green',
      optimizer_status: 'ok',
      indexed_vectors_count: 0,
      points_count: this.points.size,
      segments_count: 2,
      config: {
        params: {
          vectors: {
            size: this.size,
            distance: this.distance,
            ...(c.on_disk !== undefined ? { on_disk: c.on_disk } : {})
          },
          shard_number: 1,
          replication_factor: 1,
          write_consistency_factor: 1,
          on_disk_payload: true,
          ...(c.params ?? {})
        },
        hnsw_config: {
          m: 16,
          ef_construct: 100,
          full_scan_threshold: 10000,
          max_indexing_threads: 0,
          on_disk: false,
          ...(c.hnsw_config ?? {})
        },
        optimizer_config: {
          deleted_threshold: 0.2,
          vacuum_min_vector_number: 1000,
          default_segment_number: 0,
          max_segment_size: null,
          memmap_threshold: null,
          indexing_threshold: 10000,
          flush_interval_sec: 5,
          max_optimization_threads: null,
          ...(c.optimizers_config ?? {})
        },
        wal_config: { wal_capacity_mb: 32, wal_segments_ahead: 0, wal_retain_closed: 1, ...(c.wal_config ?? {}) },
        quantization_config: c.quantization_config ?? null,
        strict_mode_config: { enabled: false, ...(c.strict_mode_config ?? {}) },
        ...(c.metadata ? { metadata: c.metadata } : {})
      },
      payload_schema: this.payloadSchema(),
      update_queue: { length: 0 }
    }
  }
}

export class Store {
  readonly collections = new Map<string, Collection>()

  get(name: string): Collection {
    const c = this.collections.get(name)
    if (!c) throw collectionNotFound(name)
    return c
  }

  create(name: string, config: CollectionConfigInput): Collection {
    if (this.collections.has(name)) throw collectionAlreadyExists(name)
    const c = new Collection(name, config)
    this.collections.set(name, c)
    return c
  }

  delete(name: string): boolean {
    return this.collections.delete(name)
  }

  clear(): void {
    this.collections.clear()
  }
}

/** The payload property a payload index's key names, when it is a plain top-level one (`user_id`, not `a.b` or `a[]`). */
function topLevelField(key: string): string | undefined {
  try {
    const path = parseKeyPath(key)
    return path.length === 1 && path[0].index === undefined ? path[0].name : undefined
  } catch {
    return undefined
  }
}
