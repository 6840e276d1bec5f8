// The VECTOR index as SHOW CREATE TABLE shows it, and the sizing advice derived
// from the server's settings (pure: no database). Creating, replacing and dropping
// the index on a real table is proven with the searches that use it, in
// search-executor.test.ts.
import t from 'tap'
import { capacityWarnings, parseVectorIndex } from '../../../src/providers/mariadb/vector-index.ts'

const DEFAULTS = { m: 6, distance: 'euclidean' }

t.test('parseVectorIndex reads name, M and DISTANCE, and defaults what is left out', async t => {
  const table = (line: string): string =>
    ['CREATE TABLE `BRAG` (', '  `BID` bigint(20) NOT NULL AUTO_INCREMENT,', line, '  PRIMARY KEY (`BID`)', ')'].join(
      '\n'
    )
  t.same(parseVectorIndex(table("  VECTOR KEY `vg_embed_cosine` (`BEMBED`) `M`='16' `DISTANCE`='cosine',"), DEFAULTS), {
    exists: true,
    name: 'vg_embed_cosine',
    distance: 'cosine',
    m: 16,
    usable: true
  })
  t.same(
    parseVectorIndex(table('  VECTOR KEY `app``s` (`BEMBED`),'), DEFAULTS),
    { exists: true, name: 'app`s', distance: 'euclidean', m: 6, usable: false },
    "the server's defaults: euclidean, not usable for cosine searches"
  )
  t.same(parseVectorIndex(table('  KEY `BUID` (`BUID`),'), DEFAULTS), { exists: false, usable: false }, 'no VECTOR key')
})

t.test('capacity warnings name the settings to raise', async t => {
  const warnings = capacityWarnings({
    dimension: 1024,
    rows: 60_000,
    dataLength: 600 * 1024 * 1024,
    indexLength: 50 * 1024 * 1024,
    innodbBufferPoolSize: 128 * 1024 * 1024,
    mhnswMaxCacheSize: 16 * 1024 * 1024,
    vectorIndex: { exists: true, name: 'v', distance: 'cosine', m: 16, usable: true }
  })
  t.equal(warnings.length, 2)
  t.match(warnings[0], /mhnsw_max_cache_size is 16 MiB .* needs about 235 MiB/)
  t.match(warnings[1], /innodb_buffer_pool_size is 128 MiB .* about 650 MiB/)
  t.same(
    capacityWarnings({
      dimension: 1024,
      rows: 1000,
      dataLength: 8e6,
      indexLength: 1e6,
      innodbBufferPoolSize: 1 << 30,
      mhnswMaxCacheSize: 1 << 30,
      vectorIndex: { exists: false, usable: false }
    }),
    [],
    'nothing to say when it fits'
  )
})
