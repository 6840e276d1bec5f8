import { ProviderUnavailableError } from '../errors.ts'
import type { ProviderName } from '../providers/vector-provider.ts'
import type { VectorRouter } from './vector-router.ts'

/** A switch is refused (409) when the target is not configured or not reachable: it would turn every write into a 503. */
export async function assertSwitchable(router: VectorRouter, target: ProviderName): Promise<void> {
  if (!router.configured().includes(target)) {
    throw new ProviderUnavailableError(
      `Cannot switch to ${target}: it is not configured on this gateway (set QDRANT_URL)`
    )
  }
  const health = await router.provider(target).health()
  if (health.status !== 'connected') {
    throw new ProviderUnavailableError(
      `Cannot switch to ${target}: it is not reachable (${health.error ?? 'disconnected'})`
    )
  }
}
