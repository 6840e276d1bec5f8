// How a chunk is laid out as a Qdrant point, and the filters that select chunks.
//
// Payload (docs/architecture.md#qdrant-collection): user_id, file_id, group_key, file_type, chunk_index,
// start_line, end_line, text, created, _point_id (the `doc_...` string) and
// `_version` (the gateway's write version, microseconds). Points the application
// writes itself carry no `_version`: they report legacyVersion(created).
import type { Schemas } from '@qdrant/js-client-rest'
import { legacyVersion } from '../../routing/write-clock.ts'
import {
  pointId,
  type ChunkFilter,
  type ChunkRecord,
  type ChunkView,
  type KeyInfo,
  type Vector
} from '../vector-provider.ts'
import { qdrantPointId } from './point-id.ts'

export type Filter = Schemas['Filter']
export type Condition = Schemas['Condition']
export type PointStruct = Schemas['PointStruct']
export type Payload = Record<string, unknown>

/** Fields `keys()` needs; everything else stays on the server. */
export const KEY_FIELDS = ['file_id', 'chunk_index', 'group_key', '_version', 'created']

export function toPoint(c: ChunkRecord): PointStruct {
  return {
    id: qdrantPointId(c),
    vector: numbers(c.vector),
    payload: {
      user_id: c.user_id,
      file_id: c.file_id,
      group_key: c.group_key,
      file_type: c.file_type,
      chunk_index: c.chunk_index,
      start_line: c.start_line,
      end_line: c.end_line,
      text: c.text,
      created: c.created,
      _point_id: pointId(c),
      _version: c.version
    }
  }
}

/** A vector as the JSON numbers Qdrant's API takes (a Float32Array would serialise as an object). */
export function numbers(vector: Vector): number[] {
  return Array.isArray(vector) ? vector : Array.from(vector)
}

/**
 * A rough upper bound of a point's JSON size, to keep request bodies under
 * Qdrant's limit (service.max_request_size_mb, 32 MB by default) without
 * serialising twice. A float prints as at most ~24 characters; UTF-8 text may
 * grow when escaped (quotes, newlines; rarely more).
 */
export function estimatePointBytes(c: ChunkRecord): number {
  return 24 * c.vector.length + 2 * Buffer.byteLength(c.text) + c.group_key.length + 400
}

/** Integers from the payload: numbers, or bigints/strings a foreign writer may have left. */
function int(v: unknown, fallback: number): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v
  if (typeof v === 'bigint') return Number(v)
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v)
  return fallback
}

function str(v: unknown, fallback: string): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? fallback : String(v)
}

export function versionOf(p: Payload): number {
  const v = p._version
  if (v !== undefined && v !== null) {
    const n = int(v, NaN)
    if (Number.isFinite(n)) return n
  }
  return legacyVersion(int(p.created, 0))
}

/** A point's payload (and vector, when fetched) as a chunk. */
export function toChunkView(p: Payload, vector?: unknown): ChunkView {
  const view: ChunkView = {
    user_id: int(p.user_id, 0),
    file_id: int(p.file_id, 0),
    chunk_index: int(p.chunk_index, 0),
    group_key: str(p.group_key, 'DEFAULT'),
    file_type: int(p.file_type, 0),
    start_line: int(p.start_line, 0),
    end_line: int(p.end_line, 0),
    text: str(p.text, ''),
    created: int(p.created, 0),
    version: versionOf(p)
  }
  if (Array.isArray(vector)) view.vector = vector as number[]
  return view
}

export function toChunkRecord(p: Payload, vector: unknown): ChunkRecord {
  const view = toChunkView(p, vector)
  return { ...view, vector: view.vector ?? [] }
}

export function toKeyInfo(p: Payload): KeyInfo {
  return {
    file_id: int(p.file_id, 0),
    chunk_index: int(p.chunk_index, 0),
    group_key: str(p.group_key, 'DEFAULT'),
    version: versionOf(p)
  }
}

export function matchValue(key: string, value: number | string): Condition {
  return { key, match: { value } }
}

/**
 * The filter of one user's chunks. Always carries the user_id condition:
 * isolation fails closed. An empty `file_ids` list selects nothing; callers
 * short-circuit it before asking Qdrant (see selectsNothing).
 */
export function chunkFilter(f: ChunkFilter, extra: Condition[] = []): Filter {
  const must: Condition[] = [matchValue('user_id', f.user_id)]
  if (f.group_key !== undefined) must.push(matchValue('group_key', f.group_key))
  if (f.file_ids !== undefined) {
    must.push(
      f.file_ids.length === 1 ? matchValue('file_id', f.file_ids[0]) : { key: 'file_id', match: { any: f.file_ids } }
    )
  }
  must.push(...extra)
  return { must }
}

export function selectsNothing(f: ChunkFilter): boolean {
  return f.file_ids !== undefined && f.file_ids.length === 0
}

export function fileFilter(userId: number, fileId: number): Filter {
  return { must: [matchValue('user_id', userId), matchValue('file_id', fileId)] }
}
