// Each provider's reachability, for /health and the admin status.
import { PROVIDER_NAMES, type ProviderName } from '../providers/vector-provider.ts'
import type { VectorRouter } from './vector-router.ts'

export const PROVIDER_STATUSES = ['connected', 'disconnected', 'not_configured'] as const

export interface ProviderState {
  status: (typeof PROVIDER_STATUSES)[number]
  version?: string
  error?: string
}

export async function providerStates(router: VectorRouter): Promise<Record<ProviderName, ProviderState>> {
  const configured = router.configured()
  const entries = await Promise.all(
    PROVIDER_NAMES.map(async name => {
      if (!configured.includes(name)) return [name, { status: 'not_configured' }] as const
      return [name, await router.provider(name).health()] as const
    })
  )
  return Object.fromEntries(entries) as Record<ProviderName, ProviderState>
}
