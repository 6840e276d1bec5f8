import { readFile } from 'node:fs/promises'
import t from 'tap'
import { parse } from 'yaml'
import { renderOpenApiYaml } from '../src/openapi-document.ts'

t.test('openapi.yaml is the document the route schemas generate', async t => {
  const committed = await readFile(new URL('../openapi.yaml', import.meta.url), 'utf8')
  const generated = await renderOpenApiYaml()
  t.equal(committed, generated, 'openapi.yaml is stale: run `npm run openapi` and commit it')
  const doc = parse(generated)
  for (const [method, path] of [['post', '/chunks'], ['get', '/chunks'], ['patch', '/chunks'], ['delete', '/chunks'], ['post', '/search'], ['get', '/stats'],
    ['get', '/health'], ['get', '/capabilities'], ['get', '/admin/vector-storage/status'], ['put', '/admin/vector-storage/provider'],
    ['put', '/admin/vector-storage/read-mode'], ['get', '/admin/vector-storage/changes'], ['put', '/admin/vector-storage/users/{user_id}/provider']]) {
    t.ok(doc.paths[path]?.[method], `${method.toUpperCase()} ${path} is documented`)
  }
  const errorReply = doc.components.schemas.ErrorResponse
  t.ok(errorReply?.properties?.request_id, 'error answers document request_id')
  t.ok(errorReply?.required?.includes('request_id'), 'request_id is always present in an error answer')
  const vector = doc.paths['/search'].post.requestBody.content['application/json'].schema.properties.vector
  t.equal(vector.minItems, 1024, 'documented with the default VECTOR_DIMENSION')
})
