import { readFile } from 'node:fs/promises'
import t from 'tap'
import { parse } from 'yaml'
import { renderOpenApiYaml } from '../src/openapi-document.ts'

t.test('openapi.yaml is the document the route schemas generate', async t => {
  const committed = await readFile(new URL('../openapi.yaml', import.meta.url), 'utf8')
  const generated = await renderOpenApiYaml()
  t.equal(committed, generated, 'openapi.yaml is stale: run `npm run openapi` and commit it')
  const doc = parse(generated)
  for (const [method, path] of [
    ['post', '/chunks'],
    ['get', '/chunks'],
    ['patch', '/chunks'],
    ['delete', '/chunks'],
    ['post', '/search'],
    ['get', '/stats'],
    ['get', '/health'],
    ['get', '/capabilities'],
    ['get', '/admin/vector-storage/status'],
    ['put', '/admin/vector-storage/provider'],
    ['put', '/admin/vector-storage/read-mode'],
    ['get', '/admin/vector-storage/changes'],
    ['put', '/admin/vector-storage/users/{user_id}/provider']
  ]) {
    t.ok(doc.paths[path]?.[method], `${method.toUpperCase()} ${path} is documented`)
  }
  const errorReply = doc.components.schemas.ErrorResponse
  t.ok(errorReply?.properties?.request_id, 'error answers document request_id')
  t.ok(errorReply?.required?.includes('request_id'), 'request_id is always present in an error answer')
  const vector = doc.paths['/search'].post.requestBody.content['application/json'].schema.properties.vector
  const [asArray, asBase64] = vector.anyOf
  t.equal(asArray.minItems, 1024, 'documented with the default VECTOR_DIMENSION')
  t.match(
    asBase64,
    { type: 'string', format: 'byte', description: /standard alphabet A-Z a-z 0-9 \+ \/, padded with =/ },
    'and as a base64 string (OpenAPI 3.0 spells contentEncoding base64 as format byte), its alphabet described'
  )
  t.match(asBase64.description, /1024 little-endian float32 values \(4096 bytes, 5464 characters\)/)
  const stored =
    doc.paths['/chunks'].post.requestBody.content['application/json'].schema.properties.chunks.items.properties.vector
  t.same(stored, vector, 'POST /chunks documents the same two forms')
  const encoding = doc.paths['/chunks'].get.parameters.find((p: { name: string }) => p.name === 'vector_encoding')
  t.same(encoding?.schema.enum, ['float', 'base64'], 'GET /chunks documents vector_encoding')
})
