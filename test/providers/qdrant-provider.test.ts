// The shared provider contract, run against QdrantProvider: on the project's
// Qdrant REST emulator, or on a real Qdrant when QDRANT_URL is set (a unique
// collection per subtest, deleted afterwards).
import t from 'tap'
import { providerContract } from './provider-contract.ts'
import { freshProvider, qdrantTarget, REAL_QDRANT_URL } from './qdrant/setup.ts'

const DIMENSION = 64

const target = await qdrantTarget()
t.teardown(() => target.close())
t.comment(
  REAL_QDRANT_URL !== undefined
    ? `against the real Qdrant at ${REAL_QDRANT_URL}`
    : `against the Qdrant emulator at ${target.url}`
)

providerContract(t, async () => {
  const { provider, cleanup } = await freshProvider(target, DIMENSION)
  return { provider, dimension: DIMENSION, cleanup }
})
