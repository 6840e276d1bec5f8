import { Type, type Static } from 'typebox'
import { VECTOR_INDEX_M } from '../limits.ts'
import { GLOBAL_PROVIDER_SOURCES, PROVIDER_SOURCES } from '../routing/settings-store.ts'
import { ProviderName, ProviderStatus, ReadMode, Timestamp, UserId } from './common.ts'
import { MigrationSummary } from './migration.ts'

export const VectorIndexState = Type.Object({
  exists: Type.Boolean(),
  usable: Type.Boolean(),
  name: Type.Optional(Type.String()),
  distance: Type.Optional(Type.String()),
  m: Type.Optional(Type.Integer())
})

export const StatusReply = Type.Object({
  current_provider: ProviderName,
  qdrant_configured: Type.Boolean(),
  source: Type.Enum(GLOBAL_PROVIDER_SOURCES),
  env_provider: Type.Union([ProviderName, Type.Null()]),
  read_mode: ReadMode,
  changed_at: Type.Union([Timestamp, Type.Null()]),
  changed_by: Type.Union([Type.String(), Type.Null()]),
  providers: Type.Object({
    mariadb: Type.Object({
      status: ProviderStatus,
      version: Type.Optional(Type.String()),
      table: Type.String(),
      vector_index: Type.Optional(VectorIndexState),
      chunks: Type.Union([Type.Integer(), Type.Null()]),
      warnings: Type.Array(Type.String()),
      error: Type.Optional(Type.String())
    }),
    qdrant: Type.Object({
      status: ProviderStatus,
      version: Type.Optional(Type.String()),
      collection: Type.Union([Type.String(), Type.Null()]),
      chunks: Type.Union([Type.Integer(), Type.Null()]),
      /** configured collection settings (QDRANT_SHARD_NUMBER, ...) the existing collection does not have; reported, not changed */
      config_drift: Type.Array(
        Type.Object({
          setting: Type.String(),
          env: Type.String(),
          configured: Type.Union([Type.Number(), Type.Boolean(), Type.String()]),
          actual: Type.Union([Type.Number(), Type.Boolean(), Type.String(), Type.Null()])
        })
      ),
      /** times this replica found the collection missing and recreated it (the points it held were lost) */
      collection_recreations: Type.Integer(),
      collection_recreated_at: Type.Union([Timestamp, Type.Null()]),
      error: Type.Optional(Type.String())
    })
  }),
  user_overrides: Type.Integer(),
  pending_removals: Type.Union([Type.Integer(), Type.Null()], {
    description:
      'Older chunk copies whose removal from a provider failed and is retried in the background (hidden from reads meanwhile); null while MariaDB is unreachable'
  }),
  migration: Type.Union([MigrationSummary, Type.Null()], {
    description: 'The running or paused migration, else the last one; null when none ever ran'
  })
})
export type StatusReply = Static<typeof StatusReply>

export const SetProviderBody = Type.Object({ provider: ProviderName }, { additionalProperties: false })
export const SetProviderReply = Type.Object({
  current_provider: ProviderName,
  previous_provider: ProviderName,
  changed_at: Timestamp
})

export const SetReadModeBody = Type.Object({ read_mode: ReadMode }, { additionalProperties: false })

export const UserParams = Type.Object({ user_id: UserId }, { additionalProperties: false })
export const UserProviderReply = Type.Object({
  user_id: Type.Integer(),
  provider: ProviderName,
  source: Type.Enum(PROVIDER_SOURCES)
})

export const ChangesQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 }))
  },
  { additionalProperties: false }
)

export const ProviderChange = Type.Object({
  id: Type.Integer(),
  scope: Type.Enum(['global', 'user']),
  user_id: Type.Union([Type.Integer(), Type.Null()]),
  setting: Type.Enum(['provider', 'read_mode']),
  previous_value: Type.Union([Type.String(), Type.Null()]),
  new_value: Type.Union([Type.String(), Type.Null()]),
  changed_by: Type.Union([Type.String(), Type.Null()]),
  changed_at: Timestamp
})
export type ProviderChange = Static<typeof ProviderChange>

export const ChangesReply = Type.Object({ changes: Type.Array(ProviderChange) })

export const CreateVectorIndexBody = Type.Object(
  {
    m: Type.Optional(
      Type.Integer({
        minimum: VECTOR_INDEX_M.min,
        maximum: VECTOR_INDEX_M.max,
        default: VECTOR_INDEX_M.default,
        description: 'HNSW neighbours per node (MariaDB M); larger is more accurate, slower to build'
      })
    )
  },
  { additionalProperties: false }
)

export const VectorIndexReply = Type.Object({
  duration_ms: Type.Number(),
  vector_index: VectorIndexState
})
