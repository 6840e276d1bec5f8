import { Type } from 'typebox'
import { ProviderName, ProviderStatus, ReadMode } from './common.ts'

export const HealthReply = Type.Object({
  status: Type.Enum(['ok', 'error', 'draining'], {
    description: 'draining: the process got SIGTERM and finishes its in-flight requests'
  }),
  provider: ProviderName,
  mariadb: ProviderStatus,
  qdrant: ProviderStatus,
  errors: Type.Optional(Type.Record(Type.String(), Type.String()))
})

export const LiveReply = Type.Object({ status: Type.Literal('ok') })

export const CapabilitiesReply = Type.Object({
  service: Type.String(),
  version: Type.String(),
  vector_dimension: Type.Integer(),
  distance: Type.Literal('cosine'),
  active_provider: ProviderName,
  read_mode: ReadMode,
  providers: Type.Array(ProviderName),
  capabilities: Type.Array(Type.String()),
  limits: Type.Object({
    max_chunks_per_request: Type.Integer(),
    max_text_bytes: Type.Integer(),
    max_search_limit: Type.Integer(),
    max_body_bytes: Type.Integer()
  })
})
