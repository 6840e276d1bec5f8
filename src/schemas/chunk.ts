// Chunk schemas. The vector length depends on VECTOR_DIMENSION, so schemas that
// carry vectors are built from it.
import { Type, type Static } from 'typebox'
import { FileId, GroupKey, ProviderName, UserId } from './common.ts'

export const MAX_TEXT_BYTES = 1024 * 1024
export const MAX_CHUNKS_PER_REQUEST = 1000
// Embedding components are small; this bound keeps every squared length inside
// float32 (MariaDB refuses vectors whose norm overflows it) and catches JSON's
// 1e400, which parses as Infinity.
export const VECTOR_COMPONENT_MAX = 1e9

export function vectorSchema (dimension: number) {
  return Type.Array(Type.Number({ minimum: -VECTOR_COMPONENT_MAX, maximum: VECTOR_COMPONENT_MAX }), {
    minItems: dimension,
    maxItems: dimension,
    // an all-zero vector has no direction: cosine similarity is undefined for it
    not: { items: { const: 0 } },
    description: `Exactly ${dimension} finite numbers in [-1e9, 1e9], not all zero`
  })
}

const ChunkFields = {
  user_id: UserId,
  file_id: FileId,
  chunk_index: Type.Integer({ minimum: 0, maximum: 2147483647 }),
  group_key: Type.Optional(GroupKey),
  file_type: Type.Optional(Type.Integer({ minimum: -2147483648, maximum: 2147483647 })),
  start_line: Type.Integer({ minimum: 0, maximum: 2147483647 }),
  end_line: Type.Integer({ minimum: 0, maximum: 2147483647 }),
  text: Type.String({ minLength: 1, description: 'At most 1 MiB of UTF-8' }),
  created: Type.Optional(Type.Integer({ minimum: 0, maximum: 253402300799, description: 'Unix seconds; default now' }))
}

export function chunkInputSchema (dimension: number) {
  return Type.Object({ ...ChunkFields, vector: vectorSchema(dimension) }, { additionalProperties: false })
}

export function storeChunksBody (dimension: number) {
  return Type.Object({
    chunks: Type.Array(chunkInputSchema(dimension), { minItems: 1, maxItems: MAX_CHUNKS_PER_REQUEST }),
    replace: Type.Optional(Type.Boolean({ description: 'First remove every chunk of each (user, file) in the batch, from every provider' }))
  }, { additionalProperties: false })
}
export type ChunkInput = Static<ReturnType<typeof chunkInputSchema>>
export type StoreChunksBody = Static<ReturnType<typeof storeChunksBody>>

export const ProviderCounts = Type.Object({
  mariadb: Type.Optional(Type.Integer()),
  qdrant: Type.Optional(Type.Integer())
})

export const StoreChunksReply = Type.Object({ stored: Type.Integer(), providers: ProviderCounts })

export const ListChunksQuery = Type.Object({
  user_id: UserId,
  file_id: FileId,
  include_vectors: Type.Optional(Type.Boolean({ default: false }))
}, { additionalProperties: false })

/** A stored chunk as answers carry it: where it lives (point_id, provider) and its fields. */
export const StoredChunkFields = {
  point_id: Type.String({ description: 'doc_{user_id}_{file_id}_{chunk_index}' }),
  provider: ProviderName,
  user_id: Type.Integer(),
  file_id: Type.Integer(),
  chunk_index: Type.Integer(),
  group_key: Type.String(),
  file_type: Type.Integer(),
  start_line: Type.Integer(),
  end_line: Type.Integer(),
  text: Type.String(),
  created: Type.Integer()
}

export const StoredChunk = Type.Object({ ...StoredChunkFields, vector: Type.Optional(Type.Array(Type.Number())) })
export const ListChunksReply = Type.Object({ chunks: Type.Array(StoredChunk) })

export const PatchChunksBody = Type.Object({
  user_id: UserId,
  file_id: FileId,
  group_key: GroupKey
}, { additionalProperties: false })
export const PatchChunksReply = Type.Object({ updated: Type.Integer(), providers: ProviderCounts })

export const DeleteChunksQuery = Type.Object({
  user_id: UserId,
  file_id: Type.Optional(FileId),
  group_key: Type.Optional(GroupKey)
}, { additionalProperties: false })
export const DeleteChunksReply = Type.Object({ deleted: Type.Integer(), providers: ProviderCounts })
