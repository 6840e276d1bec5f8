// Decorates the app with the providers, the settings store and the router: the
// whole path from a route to a store. Closes the providers in onClose.
import fp from 'fastify-plugin'
import type { Config } from '../config.ts'
import { isProviderDown } from '../errors.ts'
import { createProviders, type ConfiguredProviders } from '../providers/create-providers.ts'
import type { ProviderName, VectorProvider } from '../providers/vector-provider.ts'
import { instrumentProvider, recallObserver } from '../observability/metrics.ts'
import { traceProvider } from '../observability/tracing.ts'
import { PendingRemovalStore } from '../cleanup/pending-removals.ts'
import { SettingsStore } from '../routing/settings-store.ts'
import { VectorRouter } from '../routing/vector-router.ts'
import { migrateGatewaySchema } from '../store/gateway-schema.ts'

declare module 'fastify' {
  interface FastifyInstance {
    providers: ConfiguredProviders
    settings: SettingsStore
    router: VectorRouter
    pendingRemovals: PendingRemovalStore
  }
}

const QDRANT_INIT_RETRY_MS = 5000

export default fp(
  async (fastify, opts: { config: Config }) => {
    const { config } = opts
    await migrateGatewaySchema(fastify.mariadb)
    const providers = createProviders(config, fastify.mariadb, {
      log: fastify.log,
      recallObserver: recallObserver(fastify.metrics)
    })
    await providers.mariadb.init()
    if (providers.qdrant !== undefined)
      initInBackgroundIfDown(fastify, providers.qdrant, await tryInit(providers.qdrant))
    fastify.addHook('onClose', async () => {
      await Promise.all(
        [...providers.all.values()].map(async p => {
          await p.close()
        })
      )
    })

    const settings = new SettingsStore(fastify.mariadb, {
      envProvider: config.VECTOR_STORAGE_PROVIDER,
      cacheMs: config.SETTINGS_CACHE_MS,
      onRefreshError: err => {
        fastify.log.warn({ err }, 'settings refresh failed; serving the last known settings')
      }
    })
    await settings.snapshot() // fail fast on a broken settings table, and start warm
    const instrumented = new Map<ProviderName, VectorProvider>(
      [...providers.all].map(([name, p]) => {
        const timed = instrumentProvider(p, fastify.metrics)
        return [name, fastify.tracer === null ? timed : traceProvider(timed, fastify.tracer)]
      })
    )
    const pendingRemovals = new PendingRemovalStore(fastify.mariadb, config.CLEANUP_RETRY_BASE_MS)
    const router = new VectorRouter({ providers: instrumented, settings, logger: fastify.log, pendingRemovals })

    fastify.decorate('providers', providers)
    fastify.decorate('settings', settings)
    fastify.decorate('router', router)
    fastify.decorate('pendingRemovals', pendingRemovals)
  },
  { name: 'vector-storage', dependencies: ['mariadb-pool', 'metrics', 'tracing'] }
)

/** Qdrant being down at start must not keep the gateway from serving MariaDB users. */
async function tryInit(provider: VectorProvider): Promise<unknown> {
  try {
    await provider.init()
    return null
  } catch (err) {
    if (!isProviderDown(err)) throw err
    return err
  }
}

function initInBackgroundIfDown(
  fastify: import('fastify').FastifyInstance,
  provider: VectorProvider,
  failure: unknown
): void {
  if (failure === null) return
  fastify.log.warn(
    { err: failure },
    `${provider.name} is unreachable at start; retrying its setup every ${QDRANT_INIT_RETRY_MS} ms`
  )
  const timer = setInterval(() => {
    tryInit(provider).then(
      err => {
        if (err === null) {
          clearInterval(timer)
          fastify.log.info(`${provider.name} set up`)
        }
      },
      err => {
        clearInterval(timer)
        fastify.log.error({ err }, `${provider.name} cannot be used`)
      }
    )
  }, QDRANT_INIT_RETRY_MS)
  timer.unref()
  fastify.addHook('onClose', async () => {
    clearInterval(timer)
  })
}
