// vg_pending_removals: older copies waiting for their removal to be retried
// (src/cleanup). Read from MariaDB at scrape time, so every replica reports the
// same shared number; a failed read keeps the last value.
import { Gauge, type Registry } from 'prom-client'

export function pendingRemovalsGauge(registry: Registry, count: () => Promise<number>): Gauge {
  return new Gauge({
    name: 'vg_pending_removals',
    help: 'Older chunk copies whose removal from a provider failed and is being retried (vg_pending_removals rows)',
    registers: [registry],
    async collect() {
      try {
        this.set(await count())
      } catch {
        // MariaDB unreachable: keep the last value rather than failing the scrape
      }
    }
  })
}
