// The gateway's own tables (settings, overrides, audit log, migrations, pending removals), created
// and upgraded at start. Add a step; never edit one that has shipped.
import type { Pool } from 'mariadb'
import { applySchemaSteps, type SchemaStep } from './schema-migrations.ts'

const GATEWAY_SCHEMA_STEPS: SchemaStep[] = [
  {
    version: 1,
    description: 'settings, per-user provider overrides, provider change log',
    async apply(conn) {
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
  },
  {
    version: 2,
    description: 'background migrations and their per-user status (src/migration)',
    async apply(conn) {
      await conn.query(`CREATE TABLE IF NOT EXISTS vg_migrations (
        id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
        from_provider VARCHAR(16) NOT NULL,
        to_provider VARCHAR(16) NOT NULL,
        user_ids LONGTEXT NULL COMMENT 'JSON array; NULL = every user of the source',
        batch_size INT NOT NULL,
        delete_source TINYINT NOT NULL DEFAULT 0,
        status VARCHAR(16) NOT NULL,
        planned TINYINT NOT NULL DEFAULT 0,
        error TEXT NULL,
        created_by VARCHAR(128) NULL,
        created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
        started_at DATETIME(6) NULL,
        completed_at DATETIME(6) NULL,
        updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
        copied_chunks BIGINT NOT NULL DEFAULT 0,
        active_ms BIGINT NOT NULL DEFAULT 0,
        lease_owner VARCHAR(128) NULL,
        lease_expires_at DATETIME(6) NULL,
        KEY idx_status (status)
      ) ENGINE=InnoDB`)
      await conn.query(`CREATE TABLE IF NOT EXISTS vg_migration_users (
        migration_id BIGINT NOT NULL,
        user_id BIGINT NOT NULL,
        status VARCHAR(16) NOT NULL DEFAULT 'pending',
        total_chunks BIGINT NOT NULL DEFAULT 0,
        migrated_chunks BIGINT NOT NULL DEFAULT 0,
        started_at DATETIME(6) NULL,
        completed_at DATETIME(6) NULL,
        error TEXT NULL,
        checkpoint_file_id BIGINT NULL,
        checkpoint_chunk_index BIGINT NULL,
        source_count BIGINT NULL,
        target_count BIGINT NULL,
        reconciled_chunks BIGINT NULL,
        source_deleted BIGINT NULL,
        attempts INT NOT NULL DEFAULT 0,
        PRIMARY KEY (migration_id, user_id),
        KEY idx_migration_status (migration_id, status)
      ) ENGINE=InnoDB`)
    }
  },
  {
    version: 3,
    description: 'pending removals of older copies the router could not remove (src/cleanup)',
    async apply(conn) {
      // one row per (user, key, provider holding the stale copy); version = the newest
      // write that made it stale (copies older than it are removed, newer ones never)
      await conn.query(`CREATE TABLE IF NOT EXISTS vg_pending_removals (
        user_id BIGINT NOT NULL,
        provider VARCHAR(16) NOT NULL,
        file_id BIGINT NOT NULL,
        chunk_index BIGINT NOT NULL,
        version BIGINT NOT NULL,
        attempts INT NOT NULL DEFAULT 0,
        next_attempt_at DATETIME(6) NOT NULL,
        claimed_by VARCHAR(64) NULL,
        last_error TEXT NULL,
        created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
        PRIMARY KEY (user_id, provider, file_id, chunk_index),
        KEY idx_due (next_attempt_at)
      ) ENGINE=InnoDB`)
    }
  }
]

export async function migrateGatewaySchema(pool: Pool): Promise<void> {
  await applySchemaSteps(pool, 'gateway', GATEWAY_SCHEMA_STEPS)
}
