// Numbered, idempotent schema steps recorded in vg_schema_migrations. A named lock
// makes concurrent starts of several replicas apply each step exactly once.
import type { Pool, PoolConnection } from 'mariadb'
import { withNamedLock } from './named-lock.ts'

export interface SchemaStep {
  version: number
  description: string
  apply(conn: PoolConnection): Promise<void>
}

const LOCK_TIMEOUT_S = 60

export async function applySchemaSteps(pool: Pool, scope: string, steps: SchemaStep[]): Promise<number[]> {
  const lock = `vg_schema:${scope}`.slice(0, 64)
  const busy = (): Error => new Error(`could not take the schema lock ${lock} within ${LOCK_TIMEOUT_S}s`)
  return await withNamedLock(pool, lock, LOCK_TIMEOUT_S, busy, async conn => {
    await conn.query(`CREATE TABLE IF NOT EXISTS vg_schema_migrations (
      scope VARCHAR(96) NOT NULL,
      version INT NOT NULL,
      description VARCHAR(255) NOT NULL,
      applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
      PRIMARY KEY (scope, version)
    ) ENGINE=InnoDB`)
    const rows: Array<{ version: number }> = await conn.query(
      'SELECT version FROM vg_schema_migrations WHERE scope = ?',
      [scope]
    )
    const done = new Set(rows.map(r => Number(r.version)))
    const applied: number[] = []
    for (const step of [...steps].sort((a, b) => a.version - b.version)) {
      if (done.has(step.version)) continue
      await step.apply(conn)
      await conn.query('INSERT INTO vg_schema_migrations (scope, version, description) VALUES (?, ?, ?)', [
        scope,
        step.version,
        step.description
      ])
      applied.push(step.version)
    }
    return applied
  })
}
