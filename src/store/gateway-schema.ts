// The gateway's own tables (settings, overrides, audit log, migrations), created
// and upgraded at start. Add a step; never edit one that has shipped.
import type { Pool } from 'mariadb'
import { applySchemaSteps, type SchemaStep } from './schema-migrations.ts'

export const GATEWAY_SCHEMA_STEPS: SchemaStep[] = [
  {
    version: 1,
    description: 'settings, per-user provider overrides, provider change log',
    async apply (conn) {
      await conn.query(`CREATE TABLE IF NOT EXISTS vg_settings (
        id TINYINT NOT NULL PRIMARY KEY,
        provider VARCHAR(16) NULL,
        read_mode VARCHAR(16) NOT NULL DEFAULT 'merged',
        changed_by VARCHAR(128) NULL,
        changed_at DATETIME(6) NULL
      ) ENGINE=InnoDB`)
      await conn.query("INSERT IGNORE INTO vg_settings (id, read_mode) VALUES (1, 'merged')")
      await conn.query(`CREATE TABLE IF NOT EXISTS vg_user_providers (
        user_id BIGINT NOT NULL PRIMARY KEY,
        provider VARCHAR(16) NOT NULL,
        changed_by VARCHAR(128) NULL,
        changed_at DATETIME(6) NOT NULL
      ) ENGINE=InnoDB`)
      await conn.query(`CREATE TABLE IF NOT EXISTS vg_provider_changes (
        id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
        scope VARCHAR(16) NOT NULL,
        user_id BIGINT NULL,
        setting VARCHAR(16) NOT NULL,
        previous_value VARCHAR(16) NULL,
        new_value VARCHAR(16) NULL,
        changed_by VARCHAR(128) NULL,
        changed_at DATETIME(6) NOT NULL,
        KEY idx_changed_at (changed_at)
      ) ENGINE=InnoDB`)
    }
  }
]

export async function migrateGatewaySchema (pool: Pool): Promise<void> {
  await applySchemaSteps(pool, 'gateway', GATEWAY_SCHEMA_STEPS)
}
