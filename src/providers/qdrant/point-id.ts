// Qdrant point ids (docs/architecture.md#qdrant-collection): the UUIDv5, in the DNS namespace, of the chunk's
// point_id string `doc_{user_id}_{file_id}_{chunk_index}`. The application uses the
// same scheme, so points written by either side address the same chunk.
import { v5 as uuidv5 } from 'uuid'
import { pointId, type ChunkKey } from '../vector-provider.ts'

/** RFC 4122 DNS namespace (the one the application uses). */
export const POINT_ID_NAMESPACE = '6ba7b810-9dad-11d1-80b4-00c04fd430c8'

/** UUIDv5 of any point_id string (`mem_152_1769723312080348` -> `dd188347-154f-55e4-9c69-699010e7828a`). */
export function uuidForPointId(pointIdString: string): string {
  return uuidv5(pointIdString, POINT_ID_NAMESPACE)
}

/** The Qdrant point id of one chunk key. */
export function qdrantPointId(key: { user_id: number } & ChunkKey): string {
  return uuidForPointId(pointId(key))
}
