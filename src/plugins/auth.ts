// API keys (docs/architecture.md#auth): API_KEY for data routes, ADMIN_API_KEY for /admin. Keys are
// compared through SHA-256 digests with timingSafeEqual: constant time whatever
// the length of what was sent.
//
// Access is decided from the MATCHED ROUTE's declared `config.auth`, never from the
// request URL: the router decodes and normalises paths (`/%61dmin` routes to /admin),
// so any URL test can be bypassed. A route that declares nothing needs the data key
// (fail closed); an unknown path needs the data key too, so it answers 401 before 404.
import { hash, timingSafeEqual } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyRequest, RouteOptions } from 'fastify'
import type { Config } from '../config.ts'
import { ForbiddenError, UnauthorizedError } from '../errors.ts'

export type AuthLevel = 'public' | 'data' | 'admin'

export interface RouteAccess {
  method: string
  url: string
  auth: AuthLevel
}

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthLevel
  }
  interface FastifyInstance {
    /** Every route registered after this plugin, with the access level it ends up with. */
    routeAccess: () => RouteAccess[]
  }
}

// one-shot hash(): half the CPU of a createHash() object per request
const digest = (key: string): Buffer => hash('sha256', key, 'buffer')

function sameKey(sent: Buffer, expected: Buffer | null): boolean {
  return expected !== null && timingSafeEqual(sent, expected)
}

function presentedKey(request: FastifyRequest): string | null {
  const header = request.headers['x-api-key']
  if (typeof header === 'string' && header !== '') return header
  const match = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')
  return match?.[1] ?? null
}

function authLevel(request: FastifyRequest): AuthLevel {
  if (request.is404) return 'data'
  return request.routeOptions.config?.auth ?? 'data'
}

export default fp(
  async (fastify, opts: { config: Config }) => {
    // Route options are kept, not copied: onRoute hooks of inner plugins (the admin
    // prefix's) run after this one and may still set `config.auth`.
    const routes: RouteOptions[] = []
    fastify.addHook('onRoute', route => {
      routes.push(route)
    })
    fastify.decorate('routeAccess', () =>
      routes.flatMap(route =>
        [route.method].flat().map(method => ({
          method,
          url: route.url,
          auth: route.config?.auth ?? 'data'
        }))
      )
    )

    if (opts.config.AUTH_DISABLED) {
      fastify.log.warn('AUTH_DISABLED=true: every endpoint is open')
      return
    }
    const dataKey = opts.config.API_KEY === undefined ? null : digest(opts.config.API_KEY)
    const adminKey = opts.config.ADMIN_API_KEY === undefined ? null : digest(opts.config.ADMIN_API_KEY)

    fastify.addHook('onRequest', async request => {
      const level = authLevel(request)
      if (level === 'public') return
      const key = presentedKey(request)
      if (key === null) throw new UnauthorizedError()
      const sent = digest(key)
      const isAdmin = sameKey(sent, adminKey)
      if (level === 'admin') {
        if (isAdmin) return
        if (sameKey(sent, dataKey)) {
          throw new ForbiddenError(
            adminKey === null
              ? 'The admin API is disabled: set ADMIN_API_KEY to use it'
              : 'The data API key cannot use /admin: send ADMIN_API_KEY'
          )
        }
        throw new UnauthorizedError()
      }
      if (!isAdmin && !sameKey(sent, dataKey)) throw new UnauthorizedError()
    })
  },
  { name: 'auth' }
)
