// API keys (SPEC §4): API_KEY for data routes, ADMIN_API_KEY for /admin. Keys are
// compared through SHA-256 digests with timingSafeEqual: constant time whatever
// the length of what was sent.
import { createHash, timingSafeEqual } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import type { Config } from '../config.ts'
import { ForbiddenError, UnauthorizedError } from '../errors.ts'

export type AuthLevel = 'public' | 'data' | 'admin'

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthLevel
  }
}

const digest = (key: string): Buffer => createHash('sha256').update(key).digest()

function sameKey (sent: Buffer, expected: Buffer | null): boolean {
  return expected !== null && timingSafeEqual(sent, expected)
}

function presentedKey (request: FastifyRequest): string | null {
  const header = request.headers['x-api-key']
  if (typeof header === 'string' && header !== '') return header
  const match = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')
  return match?.[1] ?? null
}

function authLevel (request: FastifyRequest): AuthLevel {
  const declared = request.routeOptions.config?.auth
  if (declared !== undefined) return declared
  if (request.url === '/docs' || request.url.startsWith('/docs/')) return 'public' // swagger-ui's own routes
  return request.url.startsWith('/admin') ? 'admin' : 'data'
}

export default fp(async (fastify, opts: { config: Config }) => {
  if (opts.config.AUTH_DISABLED) {
    fastify.log.warn('AUTH_DISABLED=true: every endpoint is open')
    return
  }
  const dataKey = opts.config.API_KEY === undefined ? null : digest(opts.config.API_KEY)
  const adminKey = opts.config.ADMIN_API_KEY === undefined ? null : digest(opts.config.ADMIN_API_KEY)

  fastify.addHook('onRequest', async (request) => {
    const level = authLevel(request)
    if (level === 'public') return
    const key = presentedKey(request)
    if (key === null) throw new UnauthorizedError()
    const sent = digest(key)
    const isAdmin = sameKey(sent, adminKey)
    if (level === 'admin') {
      if (isAdmin) return
      if (sameKey(sent, dataKey)) {
        throw new ForbiddenError(adminKey === null
          ? 'The admin API is disabled: set ADMIN_API_KEY to use it'
          : 'The data API key cannot use /admin: send ADMIN_API_KEY')
      }
      throw new UnauthorizedError()
    }
    if (!isAdmin && !sameKey(sent, dataKey)) throw new UnauthorizedError()
  })
}, { name: 'auth' })
