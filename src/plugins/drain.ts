// Graceful drain on SIGTERM (README "Running in production"): readiness turns
// 503 at once, every answer from then on says `Connection: close` (so a client
// busy on a keep-alive connection reconnects, to another replica), the listener
// closes and idle keep-alive sockets are closed (forceCloseConnections: 'idle'),
// in-flight requests finish, then the onClose hooks stop the migration runner
// (releasing its lease) and close the pools. Requests still running after
// SHUTDOWN_TIMEOUT_MS have their connections cut so the cleanup still happens.
import { setImmediate as nextLoopTurn } from 'node:timers/promises'
import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyInstance {
    /** true once a drain has begun: /health answers 503 "draining" */
    draining: boolean
    /** Marks the app as draining (readiness 503, `Connection: close` on every answer) without closing it. */
    beginDrain: () => void
    /** Drains and closes the app; resolves with false when connections had to be cut after `timeoutMs`. */
    drain: (timeoutMs: number) => Promise<boolean>
  }
}

export default fp(
  async fastify => {
    fastify.decorate('draining', false)
    fastify.decorate('beginDrain', function () {
      if (!fastify.draining) fastify.log.info('draining: readiness answers 503, connections close after their answer')
      fastify.draining = true
    })
    fastify.decorate('drain', async function (timeoutMs: number): Promise<boolean> {
      fastify.beginDrain()
      // Let requests whose bytes already arrived be parsed before idle sockets are
      // closed: a request sent before SIGTERM must be served, not reset.
      await nextLoopTurn()
      let cut = false
      const timer = setTimeout(() => {
        cut = true
        fastify.log.warn(
          `draining: requests still running after SHUTDOWN_TIMEOUT_MS (${timeoutMs} ms); cutting their connections`
        )
        fastify.server.closeAllConnections()
      }, timeoutMs)
      try {
        await fastify.close()
      } finally {
        clearTimeout(timer)
      }
      return !cut
    })
    fastify.addHook('onSend', async (_request, reply) => {
      if (fastify.draining) void reply.header('connection', 'close')
    })
  },
  { name: 'drain' }
)
