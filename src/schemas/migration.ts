// Schemas of the migration and archive admin routes (docs/architecture.md#migration).
import { Type, type Static, type TSchema } from 'typebox'
import { MIGRATION_STATES, USER_STATES } from '../migration/state-machine.ts'
import { MAX_ID, ProviderName, Timestamp, UserId } from './common.ts'

export const MigrationStatus = Type.Enum(MIGRATION_STATES, {
  description:
    'running -> paused -> running; running|paused -> cancelled; running -> completed | failed; failed -> running (retry)'
})
export const UserMigrationStatus = Type.Enum(USER_STATES)

export const CreateMigrationBody = Type.Object(
  {
    from: ProviderName,
    to: ProviderName,
    user_ids: Type.Optional(
      Type.Array(UserId, {
        minItems: 1,
        maxItems: 100000,
        description: 'Only these users (default: every user holding data in the source)'
      })
    ),
    batch_size: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 10000, description: 'Chunks per batch (default MIGRATION_BATCH_SIZE)' })
    ),
    delete_source: Type.Optional(
      Type.Boolean({
        default: false,
        description: "Delete each user's chunks from the source once their copy is verified"
      })
    )
  },
  { additionalProperties: false }
)
export type CreateMigrationBody = Static<typeof CreateMigrationBody>

export const MigrationParams = Type.Object(
  {
    id: Type.Integer({ minimum: 1, maximum: MAX_ID })
  },
  { additionalProperties: false }
)

export const MigrationListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_ID, default: 0 }))
  },
  { additionalProperties: false }
)

export const MigrationDetailQuery = Type.Object(
  {
    page: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1000000, description: 'Page of per-user rows (1-based), with per_page' })
    ),
    per_page: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1000, description: 'Per-user rows per page (default 100)' })
    ),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1000,
        description: 'Alternative to page/per_page: at most this many per-user rows'
      })
    ),
    offset: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_ID,
        description: 'Alternative to page/per_page: skip this many per-user rows'
      })
    ),
    user_status: Type.Optional(UserMigrationStatus)
  },
  { additionalProperties: false }
)

function Nullable<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()])
}

export const MigrationSummary = Type.Object({
  id: Type.Integer(),
  from: ProviderName,
  to: ProviderName,
  status: MigrationStatus,
  user_ids: Nullable(Type.Array(Type.Integer())),
  batch_size: Type.Integer(),
  delete_source: Type.Boolean(),
  planned: Type.Boolean({ description: 'false until the per-user rows have been created' }),
  total_users: Type.Integer(),
  completed_users: Type.Integer(),
  in_progress_users: Type.Integer(),
  pending_users: Type.Integer({ description: 'users not finished yet (pending or in progress)' }),
  failed_users: Type.Integer(),
  total_chunks: Type.Integer({ description: 'chunks in the source when each user was planned' }),
  migrated_chunks: Type.Integer(),
  chunks_per_second: Nullable(Type.Number()),
  eta_seconds: Nullable(Type.Integer()),
  created_by: Nullable(Type.String()),
  created_at: Timestamp,
  started_at: Nullable(Timestamp),
  completed_at: Nullable(Timestamp),
  error: Nullable(Type.String()),
  runner: Nullable(Type.String({ description: 'the process holding the lease' }))
})
export type MigrationSummary = Static<typeof MigrationSummary>

export const MigrationUser = Type.Object({
  user_id: Type.Integer(),
  status: UserMigrationStatus,
  total_chunks: Type.Integer(),
  migrated_chunks: Type.Integer(),
  started_at: Nullable(Timestamp),
  completed_at: Nullable(Timestamp),
  error: Nullable(Type.String()),
  checkpoint: Nullable(Type.Object({ file_id: Type.Integer(), chunk_index: Type.Integer() })),
  source_count: Nullable(Type.Integer()),
  target_count: Nullable(Type.Integer()),
  reconciled_chunks: Nullable(Type.Integer()),
  source_deleted: Nullable(Type.Integer()),
  attempts: Type.Integer()
})
export type MigrationUser = Static<typeof MigrationUser>

export const MigrationDetail = Type.Object({
  ...MigrationSummary.properties,
  users: Type.Array(MigrationUser),
  pagination: Type.Object({
    total: Type.Integer(),
    page: Type.Optional(Type.Integer()),
    per_page: Type.Optional(Type.Integer()),
    pages: Type.Optional(Type.Integer()),
    offset: Type.Optional(Type.Integer()),
    limit: Type.Optional(Type.Integer())
  })
})
export type MigrationDetail = Static<typeof MigrationDetail>

export const MigrationList = Type.Object({
  migrations: Type.Array(MigrationSummary),
  total: Type.Integer()
})

export const ArchiveBody = Type.Object(
  {
    force: Type.Optional(
      Type.Boolean({ default: false, description: 'Skip the coverage checks (never the running-migration check)' })
    )
  },
  { additionalProperties: false }
)

export const ArchiveReply = Type.Object({
  archived_table: Type.String(),
  table: Type.String(),
  archived_chunks: Type.Integer(),
  forced: Type.Boolean(),
  archived_at: Timestamp
})
