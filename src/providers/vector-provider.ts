// The one interface both storage back ends implement. The router, the migration
// engine, the CLI and the shared contract tests only ever talk to this.

export const PROVIDER_NAMES = ['mariadb', 'qdrant'] as const
export type ProviderName = (typeof PROVIDER_NAMES)[number]

/**
 * A vector's values: numbers as JSON gives them, or the float32 values a base64
 * request decoded to (kept as they are: MariaDB writes their bytes directly, and
 * no array of 1024 numbers is built per chunk; Qdrant's JSON needs numbers and
 * converts them).
 */
export type Vector = number[] | Float32Array

/** A chunk as stored. Field names follow the HTTP API (snake_case). */
export interface ChunkRecord {
  user_id: number
  file_id: number
  chunk_index: number
  group_key: string
  file_type: number
  start_line: number
  end_line: number
  text: string
  vector: Vector
  created: number
  /**
   * Write version in microseconds since the epoch, unique and increasing per
   * gateway process (see write-clock.ts). Decides which copy of a key is newest
   * when two providers hold it. Rows written by the application itself carry
   * none: providers report `created * 1e6` for them, older than any gateway write.
   */
  version: number
}

/** A chunk without its vector, as search and list answers carry it. */
export type ChunkView = Omit<ChunkRecord, 'vector'> & { vector?: number[] }

/** A chunk's identity: (user_id, file_id, chunk_index). */
export interface ChunkKey {
  file_id: number
  chunk_index: number
}

/** A stored copy of a chunk: its key and the version of the write that made it. */
export type VersionedKey = ChunkKey & { version: number }

/** What a key looks like in one provider, enough to merge and count. */
export interface KeyInfo extends ChunkKey {
  group_key: string
  version: number
}

/** Which of one user's chunks an operation touches. user_id is always required. */
export interface ChunkFilter {
  user_id: number
  file_ids?: number[]
  group_key?: string
}

export interface SearchQuery extends ChunkFilter {
  vector: Vector
  limit: number
  /** inclusive: hits with score >= min_score are returned */
  min_score: number
}

export interface SearchHit {
  chunk: ChunkView
  /** cosine similarity, 1 = same direction */
  score: number
}

export interface ProviderHealth {
  status: 'connected' | 'disconnected'
  version?: string
  error?: string
}

export interface UpsertOptions {
  /**
   * Skip keys that already exist instead of replacing them. The migration backfill
   * uses it so a copy never overwrites a newer live write.
   */
  insertOnly?: boolean
}

export interface VectorProvider {
  readonly name: ProviderName
  /** Creates or upgrades the store; throws IncompatibleStoreError when it cannot be used. */
  init(): Promise<void>
  close(): Promise<void>
  health(): Promise<ProviderHealth>

  /** Writes chunks, replacing any with the same key (all or nothing). Returns how many were written. */
  upsert(chunks: ChunkRecord[], options?: UpsertOptions): Promise<number>
  /** Chunks matching the filter, best score first, at most `limit`, each with score >= min_score. */
  search(query: SearchQuery): Promise<SearchHit[]>
  /** One file's chunks ordered by chunk_index. */
  list(userId: number, fileId: number, withVectors: boolean): Promise<ChunkView[]>
  /** Sets the group key of every chunk of one file; returns how many chunks changed. */
  updateGroupKey(userId: number, fileId: number, groupKey: string): Promise<number>
  /** Deletes what the filter selects; returns how many chunks were deleted. */
  delete(filter: ChunkFilter): Promise<number>
  /** Deletes exact keys of one user; returns how many existed. */
  deleteKeys(userId: number, keys: ChunkKey[]): Promise<number>
  /**
   * Deletes exact keys of one user, each only where the stored copy is older than
   * the version given with it (a newer copy is never touched); returns how many were deleted.
   */
  deleteOlderKeys(userId: number, keys: VersionedKey[]): Promise<number>
  /** Every key the filter selects, with group and version (for merged stats and checks). */
  keys(filter: ChunkFilter): Promise<KeyInfo[]>
  /** Exact number of chunks the filter selects, or of the whole store without a filter. */
  count(filter?: ChunkFilter): Promise<number>

  /** Users holding at least one chunk, ascending (migration planning). */
  users(): Promise<number[]>
  /** A user's chunks with vectors in key order, strictly after `after` (migration streaming). */
  scan(userId: number, after: ChunkKey | null, limit: number): Promise<ChunkRecord[]>
}

export function pointId(key: { user_id: number } & ChunkKey): string {
  return `doc_${key.user_id}_${key.file_id}_${key.chunk_index}`
}

/** A key within one user as a string, `file_id:chunk_index`: for maps and sets of keys. */
export function keyOf(k: ChunkKey): string {
  return `${k.file_id}:${k.chunk_index}`
}

export function compareKeys(a: ChunkKey, b: ChunkKey): number {
  return a.file_id - b.file_id || a.chunk_index - b.chunk_index
}

/** The order of search answers: best score first, ties in key order so equal scores answer the same way every time. */
export function compareHits(a: SearchHit, b: SearchHit): number {
  return b.score - a.score || compareKeys(a.chunk, b.chunk)
}
