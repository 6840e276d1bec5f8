import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { BODY_LIMIT_BYTES } from '../src/app.ts'
import { CapabilitiesReply } from '../src/schemas/health.ts'
import { MAX_CHUNKS_PER_REQUEST, MAX_SEARCH_LIMIT, MAX_TEXT_BYTES } from '../src/limits.ts'
import { SERVICE_VERSION } from '../src/version.ts'

const capabilities: FastifyPluginAsyncTypebox = async fastify => {
  fastify.get(
    '/capabilities',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['health'],
        summary: 'What this gateway offers and its limits',
        response: { 200: CapabilitiesReply }
      }
    },
    async () => {
      const settings = await fastify.settings.snapshot()
      return {
        service: 'vector-gateway',
        version: SERVICE_VERSION,
        vector_dimension: fastify.config.VECTOR_DIMENSION,
        distance: 'cosine' as const,
        active_provider: settings.provider,
        read_mode: settings.readMode,
        providers: fastify.router.configured(),
        capabilities: [
          'documents',
          'search',
          'merged_reads',
          'provider_switching',
          'per_user_providers',
          'migration',
          'stats'
        ],
        limits: {
          max_chunks_per_request: MAX_CHUNKS_PER_REQUEST,
          max_text_bytes: MAX_TEXT_BYTES,
          max_search_limit: MAX_SEARCH_LIMIT,
          max_body_bytes: BODY_LIMIT_BYTES
        }
      }
    }
  )
}

export default capabilities
