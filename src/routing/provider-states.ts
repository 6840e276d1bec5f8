// Each provider's reachability, for /health and the admin status.
import type { ProviderName } from '../providers/vector-provider.ts'
import type { VectorRouter } from './vector-router.ts'

export interface ProviderState {
  status: 'connected' | 'disconnected' | 'not_configured'
  version?: string
  error?: string
}

export async function providerStates(router: VectorRouter): Promise<Record<ProviderName, ProviderState>> {
  const configured = router.configured()
  const entries = await Promise.all(
    (['mariadb', 'qdrant'] as const).map(async name => {
      if (!configured.includes(name)) return [name, { status: 'not_configured' }] as const
      return [name, await router.provider(name).health()] as const
    })
  )
  return Object.fromEntries(entries) as Record<ProviderName, ProviderState>
}
