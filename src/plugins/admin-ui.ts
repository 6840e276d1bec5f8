// The admin console (ui/, Vue 3 + Vite) served at /admin/ui/ from its build, ui/dist.
// The page's files are public (they hold no data and no key; every call the page
// makes goes to the admin API with the admin key), so every route here declares
// config.auth 'public'. Encapsulated on purpose (no fastify-plugin): the
// security headers below apply to these routes only.
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyPluginAsync } from 'fastify'
import fastifyStatic from '@fastify/static'
import { NotFoundError } from '../errors.ts'

export const ADMIN_UI_PREFIX = '/admin/ui/'

/**
 * ui/dist in the nearest folder above this file that has it: the repository root
 * when run from the sources, and still found when this file is compiled into a
 * sub-folder (dist/...). undefined when the console is not built.
 */
export function findAdminUiBuild(from = dirname(fileURLToPath(import.meta.url))): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'ui', 'dist', 'index.html'))) return join(dir, 'ui', 'dist')
    if (dirname(dir) === dir) return undefined
  }
}

/** Same origin only: no inline script or style, no other host, no framing. */
export const ADMIN_UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join('; ')

export interface AdminUiOptions {
  /** the built console; default: findAdminUiBuild(). null: serve the "not built" answer */
  build?: string | null
}

const adminUi: FastifyPluginAsync<AdminUiOptions> = async (fastify, opts) => {
  fastify.addHook('onRoute', route => {
    route.config = { ...route.config, auth: 'public' }
  })
  fastify.addHook('onSend', async (_request, reply) => {
    reply.header('content-security-policy', ADMIN_UI_CSP)
    reply.header('x-content-type-options', 'nosniff')
    reply.header('referrer-policy', 'no-referrer')
    reply.header('cross-origin-opener-policy', 'same-origin')
  })

  fastify.get(
    ADMIN_UI_PREFIX.slice(0, -1),
    { schema: { hide: true }, config: { auth: 'public' } },
    async (_request, reply) => {
      return await reply.redirect(ADMIN_UI_PREFIX, 301)
    }
  )

  const root = opts.build === undefined ? findAdminUiBuild() : opts.build
  if (root === undefined || root === null) {
    fastify.log.warn('the admin console is not built (ui/dist is missing): run `npm run build:ui`')
    fastify.get(ADMIN_UI_PREFIX, { schema: { hide: true }, config: { auth: 'public' } }, async () => {
      throw new NotFoundError(
        'The admin console is not built: run `npm run build:ui` (npm test and npm run quickstart build it)'
      )
    })
    return
  }

  await fastify.register(fastifyStatic, {
    root,
    prefix: ADMIN_UI_PREFIX,
    // one route per built file (no wildcard): unknown paths are plain 404s
    wildcard: false,
    index: ['index.html'],
    redirect: false,
    decorateReply: false,
    serveDotFiles: false,
    cacheControl: false,
    // Vite names assets by content hash: cache them for good; index.html must be
    // revalidated so a new build is picked up.
    setHeaders(res, path) {
      res.setHeader('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache')
    }
  })
}

export default adminUi
