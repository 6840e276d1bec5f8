import t from 'tap'
import { POINT_ID_NAMESPACE, qdrantPointId, uuidForPointId } from '../../../src/providers/qdrant/point-id.ts'

t.equal(POINT_ID_NAMESPACE, '6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'the DNS namespace')
t.equal(
  uuidForPointId('mem_152_1769723312080348'),
  'dd188347-154f-55e4-9c69-699010e7828a',
  "the application's known answer"
)

const id = qdrantPointId({ user_id: 152, file_id: 7, chunk_index: 3 })
t.equal(id, uuidForPointId('doc_152_7_3'), 'a chunk key hashes its doc_{user}_{file}_{chunk} string')
t.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a version 5, RFC 4122 UUID')
t.equal(qdrantPointId({ user_id: 152, file_id: 7, chunk_index: 3 }), id, 'deterministic')
t.not(qdrantPointId({ user_id: 15, file_id: 27, chunk_index: 3 }), id, 'different keys, different ids')
t.not(qdrantPointId({ user_id: 152, file_id: 7, chunk_index: 4 }), id)
t.equal(
  qdrantPointId({ user_id: 2 ** 53 - 1, file_id: 2 ** 53 - 1, chunk_index: 0 }),
  uuidForPointId('doc_9007199254740991_9007199254740991_0'),
  'the largest ids print as plain integers'
)
