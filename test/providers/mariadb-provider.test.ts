// The shared provider contract against MariaDbProvider on a fresh database of the
// test MariaDB 11.8. MariaDB-specific behaviour is in test/providers/mariadb/.
import t from 'tap'
import { MariaDbProvider } from '../../src/providers/mariadb/mariadb-provider.ts'
import { createTestDatabase } from '../helpers/mariadb.ts'
import { providerContract } from './provider-contract.ts'

const DIMENSION = 8

providerContract(t, async () => {
  const db = await createTestDatabase()
  const provider = new MariaDbProvider({
    pool: db.pool,
    table: 'BRAG',
    dimension: DIMENSION,
    exactSearchMaxRows: 3000,
    efSearch: 100
  })
  await provider.init()
  return {
    provider,
    dimension: DIMENSION,
    async cleanup() {
      await provider.close()
      await db.drop()
    }
  }
})
