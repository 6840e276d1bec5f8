// Chunk schemas. The vector length depends on VECTOR_DIMENSION, so schemas that
// carry vectors are built from it.
import { Type, type Static } from 'typebox'
import type { Vector } from '../providers/vector-provider.ts'
import { MAX_CHUNKS_PER_REQUEST } from '../limits.ts'
import { FileId, GroupKey, ProviderName, UserId } from './common.ts'

// Embedding components are small; this bound keeps every squared length inside
// float32 (MariaDB refuses vectors whose norm overflows it) and catches JSON's
// 1e400, which parses as Infinity.
export const VECTOR_COMPONENT_MAX = 1e9

/** RFC 4648 §4 base64, as the gateway accepts it. */
export const BASE64_RULES = 'standard alphabet A-Z a-z 0-9 + /, padded with = to a multiple of 4 characters, no spaces'

/** "an array of 8 numbers (VECTOR_DIMENSION), or a base64 string of 8 little-endian float32 values (32 bytes)" */
export function vectorForms(dimension: number | undefined): string {
  const n = dimension === undefined ? 'VECTOR_DIMENSION' : String(dimension)
  const bytes = dimension === undefined ? '' : ` (${dimension * 4} bytes)`
  return `an array of ${n} numbers (VECTOR_DIMENSION), or a base64 string of ${n} little-endian float32 values${bytes}`
}

/** Characters of the base64 form of `dimension` float32 values. */
export function base64VectorLength(dimension: number): number {
  return 4 * Math.ceil((dimension * 4) / 3)
}

/**
 * A vector as JSON numbers, or as base64 of little-endian float32 (what embedding APIs
 * return with encoding_format "base64"). What the schema cannot see (the decoded
 * length and values, zeros after rounding to float32) routing/vector-input.ts checks.
 */
export function vectorSchema(dimension: number) {
  return Type.Union(
    [
      Type.Array(Type.Number({ minimum: -VECTOR_COMPONENT_MAX, maximum: VECTOR_COMPONENT_MAX }), {
        minItems: dimension,
        maxItems: dimension,
        // an all-zero vector has no direction: cosine similarity is undefined for it
        // ("type" keeps it from matching, and so refusing, values that are not arrays)
        not: { type: 'array', items: { const: 0 } },
        description: `Exactly ${dimension} finite numbers in [-1e9, 1e9], not all zero in float32`
      }),
      // no `pattern`: the alphabet is checked while decoding (routing/vector-input.ts), where
      // it costs a fraction of a regular expression over every 5 KiB vector
      Type.String({
        contentEncoding: 'base64',
        description:
          `Base64 (${BASE64_RULES}) of exactly ${dimension} little-endian float32 values (${dimension * 4} bytes, ` +
          `${base64VectorLength(dimension)} characters), finite, in [-1e9, 1e9], not all zero`
      })
    ],
    {
      description:
        'The embedding: an array of VECTOR_DIMENSION numbers, or a base64 string of VECTOR_DIMENSION little-endian float32 values'
    }
  )
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

function chunkInputSchema(dimension: number) {
  return Type.Object({ ...ChunkFields, vector: vectorSchema(dimension) }, { additionalProperties: false })
}

export function storeChunksBody(dimension: number) {
  return Type.Object(
    {
      chunks: Type.Array(chunkInputSchema(dimension), { minItems: 1, maxItems: MAX_CHUNKS_PER_REQUEST }),
      replace: Type.Optional(
        Type.Boolean({ description: 'First remove every chunk of each (user, file) in the batch, from every provider' })
      )
    },
    { additionalProperties: false }
  )
}
/** A chunk as the request carries it: the vector as numbers or base64. */
export type ChunkInputBody = Static<ReturnType<typeof chunkInputSchema>>
/** A chunk once its vector is read (routing/vector-input.ts): numbers, or the float32 a base64 string decoded to. */
export type ChunkInput = Omit<ChunkInputBody, 'vector'> & { vector: Vector }

export const ProviderCounts = Type.Object({
  mariadb: Type.Optional(Type.Integer()),
  qdrant: Type.Optional(Type.Integer())
})
export type ProviderCounts = Static<typeof ProviderCounts>

export const StoreChunksReply = Type.Object({ stored: Type.Integer(), providers: ProviderCounts })

export const ListChunksQuery = Type.Object(
  {
    user_id: UserId,
    file_id: FileId,
    include_vectors: Type.Optional(Type.Boolean({ default: false })),
    vector_encoding: Type.Optional(
      Type.Enum(['float', 'base64'], {
        default: 'float',
        description:
          'With include_vectors: float = JSON numbers; base64 = base64 of little-endian float32 (as embedding APIs answer)'
      })
    )
  },
  { additionalProperties: false }
)

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

const StoredChunk = Type.Object({
  ...StoredChunkFields,
  vector: Type.Optional(
    Type.Union([
      Type.Array(Type.Number()),
      Type.String({ contentEncoding: 'base64', description: 'little-endian float32 (vector_encoding=base64)' })
    ])
  )
})
export const ListChunksReply = Type.Object({ chunks: Type.Array(StoredChunk) })

export const PatchChunksBody = Type.Object(
  {
    user_id: UserId,
    file_id: FileId,
    group_key: GroupKey
  },
  { additionalProperties: false }
)
export const PatchChunksReply = Type.Object({ updated: Type.Integer(), providers: ProviderCounts })

export const DeleteChunksQuery = Type.Object(
  {
    user_id: UserId,
    file_id: Type.Optional(FileId),
    group_key: Type.Optional(GroupKey)
  },
  { additionalProperties: false }
)
export const DeleteChunksReply = Type.Object({ deleted: Type.Integer(), providers: ProviderCounts })
