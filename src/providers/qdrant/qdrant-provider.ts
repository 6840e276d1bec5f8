// The Qdrant back end (docs/architecture.md#qdrant-collection): one collection, one unnamed cosine
// vector per point, the chunk's fields in the payload, the point id the UUIDv5 of
// `doc_{user}_{file}_{chunk}` (the application's own scheme, so both sides read
// each other's points).
//
// Design notes
// - Every operation filters on user_id: isolation fails closed.
// - Writes use wait=true. Qdrant has no transactions: one request is applied as
//   a whole, several are not. A batch goes out as ONE request whenever it fits
//   (up to 1000 points and about 30 MiB of JSON: the whole of a POST /chunks
//   batch of 1024-dimension vectors with ordinary texts); a batch that does not
//   fit is split, and a failure half way leaves the earlier requests written.
//   That is acceptable because the caller gets a 503 and re-sending the batch is
//   idempotent (deterministic ids, a write replaces its key).
// - insertOnly (the migration backfill) sends `update_mode: insert_only`
//   (Qdrant >= 1.17), after dropping the keys a retrieve shows exist, so the
//   count it returns is the number of new points. Older servers ignore
//   update_mode, so there the retrieve alone decides what is sent; a live write
//   landing between the retrieve and the upsert could then be overwritten (a
//   window of one round trip; a warning is logged at init).
// - Scores are Qdrant's cosine similarity. score_threshold is sent a hair below
//   min_score and the bound is re-applied here, so min_score is inclusive
//   whatever the server's comparison.
// - scan() must return chunks in (file_id, chunk_index) order while Qdrant's
//   scroll pages in point-id (UUID) order. It uses `order_by` on indexed integer
//   fields (range index) and never holds more than `limit` points:
//     1. the rest of the `after` file: chunk_index > after.chunk_index, ordered
//        by chunk_index (unique within a file, so exact);
//     2. the next files: file_id > after.file_id ordered by file_id, `limit - n`
//        points. Every file but the last one in that page is complete (points
//        are ordered by file_id), so they are sorted by key and kept;
//     3. the last file of a full page may be cut at an arbitrary chunk, so its
//        first chunks are fetched again ordered by chunk_index.
//   At most three requests a page, memory O(limit), pages always full until the
//   end. users() uses the same trick: order_by user_id with user_id > last.
// - Counts returned by delete/deleteKeys/updateGroupKey are taken just before
//   the change (Qdrant does not report how many points an update touched); under
//   concurrent writes to the same user they are approximate. updateGroupKey
//   counts every chunk of the file (as the contract says), changed or not.
// - Qdrant stores cosine vectors normalised: list/scan give back unit vectors.
// - Errors: see qdrant-errors.ts (unreachable/timeout/5xx/429/401/403/404 ->
//   VG_PROVIDER_DOWN 503; another 4xx -> VG_INTERNAL 500).
// - A collection that disappears (Qdrant restarted empty, dropped by hand) is
//   recreated by the first call that finds it missing (404 "Collection ... doesn't
//   exist", or health()), through init's own path (same parameters, same payload
//   indexes), once however many calls notice it together; the call is then retried
//   once. Logged at error level and counted (collectionRecreations, in the status):
//   the points it held are gone and must be written again (or migrated back).
import { sizeBatches } from '../size-batches.ts'
import { QdrantClient, type Schemas } from '@qdrant/js-client-rest'
import { IncompatibleStoreError } from '../../errors.ts'
import {
  compareHits,
  compareKeys,
  type ChunkFilter,
  type ChunkKey,
  type ChunkRecord,
  type ChunkView,
  type KeyInfo,
  type ProviderHealth,
  type SearchHit,
  type SearchQuery,
  type UpsertOptions,
  type VectorProvider,
  type VersionedKey
} from '../vector-provider.ts'
import { isApiError, isCollectionMissing, mapQdrantError, qdrantMessage, qdrantStatus } from './qdrant-errors.ts'
import {
  chunkFilter,
  estimatePointBytes,
  fileFilter,
  KEY_FIELDS,
  matchValue,
  selectsNothing,
  toChunkRecord,
  toChunkView,
  toKeyInfo,
  toPoint,
  numbers,
  type Condition,
  type Filter,
  type Payload
} from './payload.ts'
import { qdrantPointId } from './point-id.ts'
import {
  collectionDrift,
  createCollectionBody,
  searchRequestExtras,
  type ConfigDrift,
  type QdrantCollectionSettings,
  type QdrantSearchSettings
} from './collection-settings.ts'

export interface QdrantProviderOptions {
  url: string
  apiKey?: string
  collection: string
  dimension: number
  /** Per-request timeout; an unanswered request becomes VG_PROVIDER_DOWN. */
  timeoutMs: number
  /** Where init() reports non-fatal findings (old server, config drift, ...). Defaults to console.warn. */
  warn?: (message: string) => void
  /** Sharding, replication, on-disk, HNSW and quantization of a collection it creates (unset: Qdrant's defaults). */
  collectionSettings?: QdrantCollectionSettings
  /** Read consistency and hnsw_ef of searches (unset: Qdrant's defaults). */
  searchSettings?: QdrantSearchSettings
  /** Where a lost and recreated collection is reported. Defaults to console.error. */
  error?: (message: string) => void
}

/** Oldest Qdrant the gateway supports (docs/architecture.md#qdrant-collection). */
const MIN_QDRANT_VERSION: readonly [number, number] = [1, 13]
/** First Qdrant release that honours `update_mode` on upsert. */
const UPDATE_MODE_VERSION: readonly [number, number] = [1, 17]
/** At most this many points in one upsert request. */
export const MAX_POINTS_PER_REQUEST = 1000
/** Estimated JSON bytes per upsert request (Qdrant refuses bodies above 32 MB by default). */
export const MAX_REQUEST_BYTES = 30 * 1024 * 1024
/** Health checks give up sooner than data requests. */
const HEALTH_TIMEOUT_MS = 2000
/** Page size for scrolls without vectors, and with them. */
const PAGE = 1000
const VECTOR_PAGE = 256
/** score_threshold is sent this much below min_score; the exact bound is applied here. */
const SCORE_SLACK = 1e-5

type IndexSchema = Schemas['PayloadFieldSchema']
type ScrollRecord = Schemas['Record']
/** The second argument of the client's query(): the body plus the consistency query parameter. */
export type QueryRequest = Parameters<QdrantClient['query']>[1]

/** The payload indexes the gateway needs (created when missing). */
export const PAYLOAD_INDEXES: ReadonlyArray<{ field: string; schema: IndexSchema }> = [
  // is_tenant exists only for keyword/uuid indexes; is_principal is its integer
  // counterpart: storage is organised by this field, which every request filters on.
  { field: 'user_id', schema: { type: 'integer', lookup: true, range: true, is_principal: true } },
  { field: 'file_id', schema: { type: 'integer', lookup: true, range: true } },
  { field: 'chunk_index', schema: { type: 'integer', lookup: true, range: true } },
  { field: 'group_key', schema: { type: 'keyword' } },
  { field: '_point_id', schema: { type: 'keyword' } }
]
/** Fields order_by and range filters run on: an existing index of another type is refused. */
const RANGE_FIELDS = new Set(['user_id', 'file_id', 'chunk_index'])

function parseVersion(v: string | undefined): [number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)/.exec(v ?? '')
  return m === null ? undefined : [Number(m[1]), Number(m[2])]
}

function atLeast(v: readonly [number, number], min: readonly [number, number]): boolean {
  return v[0] !== min[0] ? v[0] > min[0] : v[1] >= min[1]
}

function payloadOf(r: { payload?: unknown }): Payload {
  return (r.payload ?? {}) as Payload
}

function byKey(a: ScrollRecord, b: ScrollRecord): number {
  return compareKeys(keyOfRecord(a), keyOfRecord(b))
}

function keyOfRecord(r: ScrollRecord): ChunkKey {
  const p = payloadOf(r)
  return { file_id: Number(p.file_id), chunk_index: Number(p.chunk_index) }
}

export class QdrantProvider implements VectorProvider {
  readonly name = 'qdrant' as const
  readonly collection: string
  readonly dimension: number
  private readonly client: QdrantClient
  private readonly healthClient: QdrantClient
  private readonly timeoutMs: number
  private readonly warn: (message: string) => void
  private readonly error: (message: string) => void
  private version: string | undefined
  private readonly collectionSettings: QdrantCollectionSettings
  private readonly searchExtras: ReturnType<typeof searchRequestExtras>
  private drift: ConfigDrift[] = []
  /** the recreation in flight, shared by every call that finds the collection missing */
  private recreating: Promise<void> | null = null
  /** how often this process found the collection missing and recreated it, and when last */
  readonly collectionRecreations: { count: number; lastAt: Date | null } = { count: 0, lastAt: null }

  constructor(options: QdrantProviderOptions) {
    this.collectionSettings = options.collectionSettings ?? {}
    this.searchExtras = searchRequestExtras(options.searchSettings)
    this.collection = options.collection
    this.dimension = options.dimension
    this.timeoutMs = options.timeoutMs
    this.warn =
      options.warn ??
      (message => {
        console.warn(message)
      })
    this.error =
      options.error ??
      (message => {
        console.error(message)
      })
    this.client = makeClient(options.url, options.apiKey, options.timeoutMs)
    this.healthClient = makeClient(options.url, options.apiKey, Math.min(options.timeoutMs, HEALTH_TIMEOUT_MS))
  }

  /** The underlying client (tests and tools; the provider's methods are the API). */
  get qdrant(): QdrantClient {
    return this.client
  }

  // ------------------------------------------------------------------ lifecycle

  async init(): Promise<void> {
    const version = await this.serverVersion()
    const parsed = parseVersion(version)
    if (parsed !== undefined && !atLeast(parsed, MIN_QDRANT_VERSION)) {
      throw new IncompatibleStoreError(
        `Qdrant ${version} is too old: the gateway needs Qdrant >= ${MIN_QDRANT_VERSION.join('.')}`
      )
    }
    if (parsed !== undefined && !atLeast(parsed, UPDATE_MODE_VERSION)) {
      this.warn(
        `Qdrant ${version} predates update_mode (>= ${UPDATE_MODE_VERSION.join('.')}): migration copies check ` +
          'for existing points first, so a write made in the same instant can be overwritten by the copy; upgrade Qdrant'
      )
    }

    await this.ensureCollection()
  }

  /** Creates the collection when missing, checks its vectors, adds missing payload indexes. True when it created it. */
  private async ensureCollection(): Promise<boolean> {
    const { exists } = await this.once(
      'check the collection',
      async () => await this.client.collectionExists(this.collection)
    )
    if (!exists) await this.createCollection()
    const info = await this.once('read the collection', async () => await this.client.getCollection(this.collection))
    this.checkVectors(info)
    this.checkSettings(info)
    await this.ensureIndexes(info)
    return !exists
  }

  /**
   * The collection was found missing: recreate it (one recreation in flight for all
   * the calls that noticed), log it loudly and count it. A collection another call
   * or replica already recreated is only checked.
   */
  private async recreateCollection(): Promise<void> {
    this.recreating ??= (async () => {
      try {
        if (await this.ensureCollection()) {
          this.collectionRecreations.count++
          this.collectionRecreations.lastAt = new Date()
          this.error(
            `Qdrant collection ${this.collection} was missing (Qdrant restarted empty, or it was deleted) and has been ` +
              'recreated with its payload indexes: the points it held are gone; write them again or migrate them back'
          )
        }
      } finally {
        this.recreating = null
      }
    })()
    await this.recreating
  }

  /** Configured collection settings the existing collection does not have (as of the last init). */
  get configDrift(): ConfigDrift[] {
    return this.drift
  }

  async close(): Promise<void> {
    // Nothing to flush: every write waited for Qdrant. The client only keeps idle
    // keep-alive sockets, which undici does not let hold the process open.
  }

  async health(): Promise<ProviderHealth> {
    try {
      const [info, existence] = await Promise.all([
        this.healthClient.versionInfo(),
        this.healthClient.collectionExists(this.collection)
      ])
      this.version = info.version
      if (!existence.exists) {
        try {
          await this.recreateCollection()
        } catch (err) {
          return {
            status: 'disconnected',
            version: info.version,
            error: `collection ${this.collection} does not exist and could not be recreated: ${(err as Error).message}`
          }
        }
      }
      return { status: 'connected', version: info.version }
    } catch (err) {
      const mapped = mapQdrantError('health check', err, Math.min(this.timeoutMs, HEALTH_TIMEOUT_MS))
      // The detail (the cause), for the admin status and the log; /health shows none of it.
      const cause = (mapped as { cause?: unknown }).cause
      return { status: 'disconnected', error: cause instanceof Error ? cause.message : mapped.message }
    }
  }

  // ------------------------------------------------------------------ writes

  async upsert(chunks: ChunkRecord[], options: UpsertOptions = {}): Promise<number> {
    if (chunks.length === 0) return 0
    if (options.insertOnly === true) return await this.insertMissing(chunks)
    for (const batch of splitForRequests(chunks)) {
      await this.call(
        `upsert ${batch.length} points`,
        async () => await this.client.upsert(this.collection, { wait: true, points: batch.map(toPoint) })
      )
    }
    return chunks.length
  }

  async updateGroupKey(userId: number, fileId: number, groupKey: string): Promise<number> {
    const filter = fileFilter(userId, fileId)
    const n = await this.countFilter(filter)
    if (n === 0) return 0
    await this.call(
      'set the group key',
      async () =>
        await this.client.setPayload(this.collection, { wait: true, payload: { group_key: groupKey }, filter })
    )
    return n
  }

  async delete(filter: ChunkFilter): Promise<number> {
    if (selectsNothing(filter)) return 0
    const f = chunkFilter(filter)
    const n = await this.countFilter(f)
    if (n === 0) return 0
    await this.call('delete points', async () => await this.client.delete(this.collection, { wait: true, filter: f }))
    return n
  }

  async deleteKeys(userId: number, keys: ChunkKey[]): Promise<number> {
    let existed = 0
    for (let i = 0; i < keys.length; i += PAGE) {
      const ids = [...new Set(keys.slice(i, i + PAGE).map(k => qdrantPointId({ user_id: userId, ...k })))]
      const found = await this.call(
        'look up points',
        async () => await this.client.retrieve(this.collection, { ids, with_payload: ['user_id'], with_vector: false })
      )
      const mine = found.filter(r => Number(payloadOf(r).user_id) === userId)
      if (mine.length === 0) continue
      existed += mine.length
      // by id AND by user: never touches another user's point whatever the ids say
      const filter: Filter = { must: [{ has_id: mine.map(r => r.id) }, matchValue('user_id', userId)] }
      await this.call('delete points', async () => await this.client.delete(this.collection, { wait: true, filter }))
    }
    return existed
  }

  async deleteOlderKeys(userId: number, keys: VersionedKey[]): Promise<number> {
    let deleted = 0
    for (let i = 0; i < keys.length; i += PAGE) {
      // by id AND by user AND older than the given version, in the delete's own filter:
      // a newer copy written meanwhile is never removed. Points without _version
      // (written by the application) are older than any gateway write.
      const filter: Filter = {
        must: [matchValue('user_id', userId)],
        should: keys.slice(i, i + PAGE).map(k => ({
          must: [
            { has_id: [qdrantPointId({ user_id: userId, ...k })] },
            { should: [{ key: '_version', range: { lt: k.version } }, { is_empty: { key: '_version' } }] }
          ]
        }))
      }
      const n = await this.countFilter(filter)
      if (n === 0) continue
      await this.call(
        'delete older points',
        async () => await this.client.delete(this.collection, { wait: true, filter })
      )
      deleted += n
    }
    return deleted
  }

  // ------------------------------------------------------------------ reads

  /**
   * The request search() passes to the client's query() for `query` (a filter that
   * selects nothing is answered without one). Public so a benchmark can send the very
   * same request to Qdrant directly.
   */
  searchRequest(query: SearchQuery): QueryRequest {
    return {
      ...this.searchExtras,
      query: numbers(query.vector),
      filter: chunkFilter(query),
      limit: query.limit,
      score_threshold: query.min_score - SCORE_SLACK,
      with_payload: true,
      with_vector: false
    }
  }

  async search(query: SearchQuery): Promise<SearchHit[]> {
    if (selectsNothing(query)) return []
    const request = this.searchRequest(query)
    const res = await this.call('search', async () => await this.client.query(this.collection, request))
    return res.points
      .filter(p => p.score >= query.min_score)
      .map(p => ({ chunk: toChunkView(payloadOf(p)), score: p.score }))
      .sort(compareHits)
      .slice(0, query.limit)
  }

  async list(userId: number, fileId: number, withVectors: boolean): Promise<ChunkView[]> {
    const out: ChunkView[] = []
    for await (const page of this.scrollAll(fileFilter(userId, fileId), true, withVectors)) {
      for (const r of page) out.push(toChunkView(payloadOf(r), withVectors ? r.vector : undefined))
    }
    return out.sort(compareKeys)
  }

  async keys(filter: ChunkFilter): Promise<KeyInfo[]> {
    if (selectsNothing(filter)) return []
    const out: KeyInfo[] = []
    for await (const page of this.scrollAll(chunkFilter(filter), KEY_FIELDS, false)) {
      for (const r of page) out.push(toKeyInfo(payloadOf(r)))
    }
    return out
  }

  async count(filter?: ChunkFilter): Promise<number> {
    if (filter === undefined) return await this.countFilter(undefined)
    if (selectsNothing(filter)) return 0
    return await this.countFilter(chunkFilter(filter))
  }

  async users(): Promise<number[]> {
    const users: number[] = []
    let last: number | undefined
    for (;;) {
      const filter: Filter | undefined =
        last === undefined ? undefined : { must: [{ key: 'user_id', range: { gt: last } }] }
      const { points } = await this.call(
        'list users',
        async () =>
          await this.client.scroll(this.collection, {
            filter,
            limit: PAGE,
            with_payload: ['user_id'],
            with_vector: false,
            order_by: { key: 'user_id', direction: 'asc' }
          })
      )
      for (const p of points) {
        const u = Number(payloadOf(p).user_id)
        if (users.length === 0 || users[users.length - 1] !== u) users.push(u)
      }
      // a full page may stop inside a user: the next one starts after the last user seen
      if (points.length < PAGE) break
      last = users[users.length - 1]
    }
    return users
  }

  async scan(userId: number, after: ChunkKey | null, limit: number): Promise<ChunkRecord[]> {
    if (limit <= 0) return []
    const out: ScrollRecord[] = []
    if (after !== null) out.push(...(await this.fileInOrder(userId, after.file_id, after.chunk_index, limit)))
    if (out.length < limit) {
      const need = limit - out.length
      const must: Condition[] = after === null ? [] : [{ key: 'file_id', range: { gt: after.file_id } }]
      const page = await this.scrollOrdered(userId, must, 'file_id', need)
      if (page.length < need) {
        out.push(...page.sort(byKey))
      } else {
        const lastFile = page.reduce((max, r) => Math.max(max, keyOfRecord(r).file_id), -Infinity)
        out.push(...page.filter(r => keyOfRecord(r).file_id < lastFile).sort(byKey))
        out.push(...(await this.fileInOrder(userId, lastFile, -1, limit - out.length)))
      }
    }
    return out.map(r => toChunkRecord(payloadOf(r), r.vector))
  }

  // ------------------------------------------------------------------ internals

  /**
   * Runs one client call, turning what it throws into gateway errors. A call that
   * finds the collection missing recreates it and runs once more.
   */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      if (!isCollectionMissing(err)) throw mapQdrantError(what, err, this.timeoutMs)
    }
    await this.recreateCollection()
    return await this.once(what, fn)
  }

  /** One client call without recovery (init's path, which recovery itself runs). */
  private async once<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      throw mapQdrantError(what, err, this.timeoutMs)
    }
  }

  private async serverVersion(): Promise<string | undefined> {
    if (this.version === undefined) {
      const info = await this.once('read the server version', async () => await this.client.versionInfo())
      this.version = info.version
    }
    return this.version
  }

  private async countFilter(filter: Filter | undefined): Promise<number> {
    const res = await this.call(
      'count points',
      async () => await this.client.count(this.collection, { filter, exact: true })
    )
    return res.count
  }

  /** One file's chunks with chunk_index > afterChunk, in chunk order, at most `limit`. */
  private async fileInOrder(
    userId: number,
    fileId: number,
    afterChunk: number,
    limit: number
  ): Promise<ScrollRecord[]> {
    if (limit <= 0) return []
    const must: Condition[] = [matchValue('file_id', fileId)]
    if (afterChunk >= 0) must.push({ key: 'chunk_index', range: { gt: afterChunk } })
    return await this.scrollOrdered(userId, must, 'chunk_index', limit)
  }

  private async scrollOrdered(
    userId: number,
    must: Condition[],
    orderKey: string,
    limit: number
  ): Promise<ScrollRecord[]> {
    const { points } = await this.call(
      'scan points',
      async () =>
        await this.client.scroll(this.collection, {
          filter: { must: [matchValue('user_id', userId), ...must] },
          limit,
          with_payload: true,
          with_vector: true,
          order_by: { key: orderKey, direction: 'asc' }
        })
    )
    return points
  }

  /** Every point the filter selects, page by page (point-id order). */
  private async *scrollAll(
    filter: Filter,
    withPayload: boolean | string[],
    withVector: boolean
  ): AsyncGenerator<ScrollRecord[]> {
    let offset: Schemas['ExtendedPointId'] | undefined
    const limit = withVector ? VECTOR_PAGE : PAGE
    for (;;) {
      const res = await this.call(
        'scroll points',
        async () =>
          await this.client.scroll(this.collection, {
            filter,
            limit,
            offset,
            with_payload: withPayload,
            with_vector: withVector
          })
      )
      yield res.points
      const next = res.next_page_offset
      if (next === undefined || next === null || (typeof next !== 'string' && typeof next !== 'number')) return
      offset = next
    }
  }

  private async insertMissing(chunks: ChunkRecord[]): Promise<number> {
    const version = parseVersion(await this.serverVersion())
    const honoursUpdateMode = version === undefined || atLeast(version, UPDATE_MODE_VERSION)
    // the last copy of a key in the batch is the one an upsert would keep
    const byId = new Map<string, ChunkRecord>()
    for (const c of chunks) byId.set(qdrantPointId(c), c)
    const ids = [...byId.keys()]
    for (let i = 0; i < ids.length; i += PAGE) {
      const slice = ids.slice(i, i + PAGE)
      const found = await this.call(
        'look up points',
        async () => await this.client.retrieve(this.collection, { ids: slice, with_payload: false, with_vector: false })
      )
      for (const r of found) byId.delete(String(r.id))
    }
    const missing = [...byId.values()]
    for (const batch of splitForRequests(missing)) {
      await this.call(
        `insert ${batch.length} points`,
        async () =>
          await this.client.upsert(this.collection, {
            wait: true,
            points: batch.map(toPoint),
            ...(honoursUpdateMode ? { update_mode: 'insert_only' as const } : {})
          })
      )
    }
    return missing.length
  }

  private async createCollection(): Promise<void> {
    try {
      await this.client.createCollection(this.collection, createCollectionBody(this.dimension, this.collectionSettings))
    } catch (err) {
      // another replica created it in the meantime: its parameters are checked next
      const status = qdrantStatus(err)
      if (status === 409 || (status === 400 && isApiError(err) && /already exists/i.test(qdrantMessage(err)))) return
      throw mapQdrantError(`create collection ${this.collection}`, err, this.timeoutMs)
    }
  }

  private checkVectors(info: Schemas['CollectionInfo']): void {
    const vectors = info.config.params.vectors as Schemas['VectorsConfig'] | undefined
    const configured = `size ${this.dimension} with distance Cosine (VECTOR_DIMENSION=${this.dimension})`
    const refuse = (what: string): never => {
      throw new IncompatibleStoreError(
        `Qdrant collection "${this.collection}" ${what}, but the gateway is configured for ` +
          `${configured}. Point QDRANT_COLLECTION at another collection, or migrate this one.`
      )
    }
    if (vectors === undefined || vectors === null) return refuse('has no dense vector')
    if (typeof (vectors as Schemas['VectorParams']).size !== 'number') {
      return refuse(`uses named vectors (${Object.keys(vectors).join(', ')}) instead of one unnamed vector`)
    }
    const { size, distance } = vectors as Schemas['VectorParams']
    if (size !== this.dimension || distance !== 'Cosine')
      return refuse(`holds vectors of size ${size} with distance ${distance}`)
  }

  /** Reported (status, log), never changed: resharding or re-quantizing a live collection is the operator's call. */
  private checkSettings(info: Schemas['CollectionInfo']): void {
    this.drift = collectionDrift(this.collectionSettings, info)
    if (this.drift.length === 0) return
    this.warn(
      `Qdrant collection "${this.collection}" differs from the configured settings (left as it is): ` +
        this.drift.map(d => `${d.setting} is ${String(d.actual)}, ${d.env} says ${String(d.configured)}`).join('; ')
    )
  }

  private async ensureIndexes(info: Schemas['CollectionInfo']): Promise<void> {
    const existing = info.payload_schema ?? {}
    for (const { field, schema } of PAYLOAD_INDEXES) {
      const have = existing[field]
      if (have === undefined) {
        await this.once(
          `create the ${field} payload index`,
          async () =>
            await this.client.createPayloadIndex(this.collection, {
              wait: true,
              field_name: field,
              field_schema: schema
            })
        )
        continue
      }
      if (RANGE_FIELDS.has(field)) {
        const params = (have.params ?? {}) as { range?: boolean | null }
        if (have.data_type !== 'integer' || params.range === false) {
          throw new IncompatibleStoreError(
            `Qdrant collection "${this.collection}" has a ${have.data_type} payload index on ` +
              `${field}${params.range === false ? ' without range support' : ''}; the gateway needs an integer index with range ` +
              `support there (filters and ordered scans). Delete that index (DELETE /collections/${this.collection}/index/${field}) ` +
              'and restart: the gateway recreates it.'
          )
        }
      }
    }
  }
}

function makeClient(url: string, apiKey: string | undefined, timeoutMs: number): QdrantClient {
  // The api key goes in as a header rather than `apiKey`, which would log a
  // warning for plain-http URLs (common inside a private network).
  // checkCompatibility is off: it fires GET / from the constructor, whose failure
  // (server down at start) only prints a warning; init() checks the version itself.
  return new QdrantClient({
    url,
    timeout: timeoutMs,
    checkCompatibility: false,
    headers: apiKey === undefined ? {} : { 'api-key': apiKey }
  })
}

/** Splits a batch into as few requests as the point count and body size allow. */
export function splitForRequests(chunks: ChunkRecord[]): ChunkRecord[][] {
  return sizeBatches(chunks, MAX_POINTS_PER_REQUEST, MAX_REQUEST_BYTES, estimatePointBytes)
}
