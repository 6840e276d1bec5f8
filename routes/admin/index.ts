// /admin/vector-storage/*: guarded by ADMIN_API_KEY (see plugins/auth.ts).
// Every route registered in this plugin (or any plugin it registers) is forced to the
// admin level here, whatever it declares, so a new admin route cannot forget it.
import type { FastifyPluginAsync } from 'fastify'
import archive from './archive.ts'
import changes from './changes.ts'
import migrations from './migrations.ts'
import provider from './provider.ts'
import status from './status.ts'
import userProvider from './user-provider.ts'
import vectorIndex from './vector-index.ts'

const admin: FastifyPluginAsync = async fastify => {
  fastify.addHook('onRoute', route => {
    route.config = { ...route.config, auth: 'admin' }
  })
  await fastify.register(status)
  await fastify.register(provider)
  await fastify.register(userProvider)
  await fastify.register(changes)
  await fastify.register(migrations)
  await fastify.register(archive)
  await fastify.register(vectorIndex)
}

export default admin
