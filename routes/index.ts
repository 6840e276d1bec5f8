// Every route plugin, registered in one place so the API surface is easy to read.
import type { FastifyPluginAsync } from 'fastify'
import admin from './admin/index.ts'
import capabilities from './capabilities.ts'
import chunks from './chunks.ts'
import health from './health.ts'
import search from './search.ts'

const routes: FastifyPluginAsync = async fastify => {
  await fastify.register(health)
  await fastify.register(capabilities)
  await fastify.register(chunks)
  await fastify.register(search)
  await fastify.register(admin, { prefix: '/admin/vector-storage' })
}

export default routes
