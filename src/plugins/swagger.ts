// The OpenAPI document is generated from the route schemas (the single source)
// and served at /docs; scripts/write-openapi.ts commits it as openapi.yaml.
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { ErrorResponse } from '../schemas/common.ts'
import { SERVICE_VERSION } from '../version.ts'

export default fp(
  async fastify => {
    fastify.addSchema(ErrorResponse)
    await fastify.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'vector-gateway',
          description:
            'Stores and searches document-chunk vectors in MariaDB or Qdrant, switches between them at run time and migrates data between them.',
          version: SERVICE_VERSION
        },
        components: {
          securitySchemes: {
            apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
            bearer: { type: 'http', scheme: 'bearer' }
          }
        },
        security: [{ apiKey: [] }, { bearer: [] }],
        tags: [
          { name: 'chunks', description: 'Store, list, regroup and delete chunks' },
          { name: 'search', description: 'Vector search and statistics' },
          { name: 'health', description: 'Health and capabilities (no key needed)' },
          { name: 'admin', description: 'Provider switching, read mode, overrides, migrations (ADMIN_API_KEY)' }
        ]
      },
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) }
    })
    // swagger-ui's own routes (/docs, /docs/json, /docs/static/*) declare themselves public.
    await fastify.register(async docs => {
      docs.addHook('onRoute', route => {
        route.config = { ...route.config, auth: 'public' }
      })
      await docs.register(swaggerUi, { routePrefix: '/docs' })
    })
  },
  { name: 'swagger' }
)
