/**
 * Differential check of membank's Chroma API against a real Chroma 1.0: the same sequence of raw HTTP calls
 * (collections, records, filters, queries, mistakes) goes to both, and every answer must match: the status,
 * the ids in the same order, documents, metadata and URIs, embeddings within 1e-6 and distances within 1e-4
 * (exact search: the collections are small). Collection UUIDs differ by nature and are not compared.
 *
 *   npx tsx scripts/chroma-diff.ts                      # starts both servers itself (Chroma from node_modules)
 *   npx tsx scripts/chroma-diff.ts --chroma http://localhost:8000 --membank http://127.0.0.1:8001
 *   npx tsx scripts/chroma-diff.ts --verbose            # print both answers of every step
 *
 * Steps marked `known` are differences membank keeps on purpose (the README lists them); they are reported,
 * not counted as failures. Exits 1 when any other step differs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { rng } from '../test/fixtures/random.js';
import { type Running, startChroma, startMembankChroma, stop } from './lib/chroma.js';

const { values: args } = parseArgs({
  options: { chroma: { type: 'string' }, membank: { type: 'string' }, verbose: { type: 'boolean', default: false } },
});

const DB = '/api/v2/tenants/default_tenant/databases/default_database';
const DIMS = 8;
const N = 120;

interface Step {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** `{c:name}` stands for the id of collection `name` on each server. */
  path: string;
  body?: unknown;
  raw?: { text: string; type?: string };
  /** A difference membank keeps on purpose: reported, not failed. */
  known?: string;
  /** Compare the status only (answers that differ by nature: timestamps, ids). */
  statusOnly?: boolean;
}

interface Answer {
  status: number;
  body: unknown;
}

const random = rng(7);
const vec = (): number[] => Array.from({ length: DIMS }, () => Math.round((random() * 2 - 1) * 1000) / 1000);
const WORDS = ['apple', 'banana', 'cherry', 'delta', 'echo', 'fox', 'golf', 'hotel', 'india', 'juliet'];
const COLORS = ['red', 'green', 'blue'];

function records(from: number, to: number) {
  const ids: string[] = [];
  const embeddings: number[][] = [];
  const documents: (string | null)[] = [];
  const metadatas: (Record<string, string | number | boolean> | null)[] = [];
  const uris: (string | null)[] = [];
  for (let i = from; i < to; i++) {
    ids.push(`r${i}`);
    embeddings.push(vec());
    documents.push(i % 11 === 0 ? null : `${WORDS[i % 10]} ${WORDS[(i * 3) % 10]} item ${i}${i % 7 === 0 ? ' Special' : ''}`);
    metadatas.push(i % 13 === 0 ? null : { bucket: i % 10, color: COLORS[i % 3]!, score: Math.round(random() * 1000) / 100, even: i % 2 === 0 });
    uris.push(i % 5 === 0 ? `s3://bucket/${i}` : null);
  }
  return { ids, embeddings, documents, metadatas, uris };
}

function steps(): Step[] {
  const s: Step[] = [];
  const add = (step: Step) => s.push(step);
  const C = (name: string) => `${DB}/collections/{c:${name}}`;
  add({ name: 'heartbeat', method: 'GET', path: '/api/v2/heartbeat', statusOnly: true });
  add({ name: 'version', method: 'GET', path: '/api/v2/version' });
  add({ name: 'pre-flight-checks', method: 'GET', path: '/api/v2/pre-flight-checks' });
  add({ name: 'identity', method: 'GET', path: '/api/v2/auth/identity' });
  add({ name: 'reset is off', method: 'POST', path: '/api/v2/reset' });
  add({ name: 'tenant', method: 'GET', path: '/api/v2/tenants/default_tenant' });
  add({ name: 'missing tenant', method: 'GET', path: '/api/v2/tenants/nope' });
  add({ name: 'default database', method: 'GET', path: '/api/v2/tenants/default_tenant/databases/default_database' });
  add({ name: 'missing database', method: 'GET', path: '/api/v2/tenants/default_tenant/databases/nope' });

  for (const [name, configuration] of [
    ['diff-l2', undefined],
    ['diff-cosine', { hnsw: { space: 'cosine' } }],
    ['diff-ip', { hnsw: { space: 'ip', ef_construction: 50, max_neighbors: 8, ef_search: 20 } }],
  ] as const) {
    add({ name: `create ${name}`, method: 'POST', path: `${DB}/collections`, body: { name, metadata: { purpose: 'diff', n: 1 }, ...(configuration && { configuration }) } });
  }
  add({ name: 'create with legacy hnsw:space', method: 'POST', path: `${DB}/collections`, body: { name: 'diff-legacy', metadata: { 'hnsw:space': 'cosine' } } });
  add({ name: 'create again', method: 'POST', path: `${DB}/collections`, body: { name: 'diff-l2' } });
  add({ name: 'get_or_create existing', method: 'POST', path: `${DB}/collections`, body: { name: 'diff-l2', get_or_create: true, metadata: { other: 1 } } });
  add({ name: 'name too short', method: 'POST', path: `${DB}/collections`, body: { name: 'ab' } });
  add({ name: 'name with ..', method: 'POST', path: `${DB}/collections`, body: { name: 'a..b' } });
  add({ name: 'name like an ip', method: 'POST', path: `${DB}/collections`, body: { name: '10.0.0.1' } });
  add({ name: 'empty metadata', method: 'POST', path: `${DB}/collections`, body: { name: 'diff-empty', metadata: {} } });
  add({ name: 'nested metadata', method: 'POST', path: `${DB}/collections`, body: { name: 'diff-nested', metadata: { a: { b: 1 } } } });
  add({ name: 'unknown space', method: 'POST', path: `${DB}/collections`, body: { name: 'diff-space', configuration: { hnsw: { space: 'dot' } } } });
  add({ name: 'unknown hnsw field', method: 'POST', path: `${DB}/collections`, body: { name: 'diff-field', configuration: { hnsw: { foo: 1 } } } });
  add({ name: 'no name', method: 'POST', path: `${DB}/collections`, body: {} });
  add({ name: 'malformed JSON', method: 'POST', path: `${DB}/collections`, raw: { text: '{oops' } });
  add({ name: 'not JSON', method: 'POST', path: `${DB}/collections`, raw: { text: '{}', type: 'text/plain' } });
  add({ name: 'get collection', method: 'GET', path: `${DB}/collections/diff-l2` });
  add({ name: 'get missing collection', method: 'GET', path: `${DB}/collections/diff-missing` });
  add({ name: 'collections count', method: 'GET', path: `${DB}/collections_count` });

  for (const name of ['diff-l2', 'diff-cosine', 'diff-ip']) {
    add({ name: `${name}: add`, method: 'POST', path: `${C(name)}/add`, body: records(0, N / 2) });
    add({ name: `${name}: add more`, method: 'POST', path: `${C(name)}/add`, body: records(N / 2, N) });
  }
  const c = C('diff-l2');
  add({ name: 'add an existing id (ignored)', method: 'POST', path: `${c}/add`, body: { ids: ['r1'], embeddings: [vec()], documents: ['replaced?'] } });
  add({ name: 'add wrong dimension', method: 'POST', path: `${c}/add`, body: { ids: ['x1'], embeddings: [[1, 2]] } });
  add({ name: 'add inconsistent lengths', method: 'POST', path: `${c}/add`, body: { ids: ['x1', 'x2'], embeddings: [vec()] } });
  add({ name: 'add empty id', method: 'POST', path: `${c}/add`, body: { ids: [''], embeddings: [vec()] } });
  add({ name: 'add nested metadata', method: 'POST', path: `${c}/add`, body: { ids: ['x1'], embeddings: [vec()], metadatas: [{ a: [1] }] } });
  add({ name: 'add ids not a list', method: 'POST', path: `${c}/add`, body: { ids: 'x1', embeddings: [vec()] } });
  add({ name: 'add nothing', method: 'POST', path: `${c}/add`, body: { ids: [], embeddings: [] } });
  add({ name: 'count', method: 'GET', path: `${c}/count` });
  add({ name: 'collection knows its dimension', method: 'GET', path: `${DB}/collections/diff-l2` });

  add({ name: 'get all', method: 'POST', path: `${c}/get`, body: {} });
  add({ name: 'get by ids (any order, one missing)', method: 'POST', path: `${c}/get`, body: { ids: ['r30', 'r2', 'nope', 'r11'] } });
  add({ name: 'get everything included', method: 'POST', path: `${c}/get`, body: { ids: ['r0', 'r5', 'r13'], include: ['embeddings', 'documents', 'metadatas', 'uris'] } });
  add({ name: 'get include nothing', method: 'POST', path: `${c}/get`, body: { limit: 3, include: [] } });
  add({ name: 'get limit offset', method: 'POST', path: `${c}/get`, body: { limit: 7, offset: 50 } });
  add({ name: 'get offset past the end', method: 'POST', path: `${c}/get`, body: { offset: 500 } });
  const wheres: [string, unknown][] = [
    ['$eq', { color: 'red' }],
    ['$eq on int', { bucket: 3 }],
    ['$eq on bool', { even: true }],
    ['$ne', { color: { $ne: 'red' } }],
    ['$gt', { score: { $gt: 5.5 } }],
    ['$gte int', { bucket: { $gte: 7 } }],
    ['$lt', { score: { $lt: 1.25 } }],
    ['$lte int', { bucket: { $lte: 1 } }],
    ['$in', { color: { $in: ['red', 'blue'] } }],
    ['$nin', { bucket: { $nin: [1, 2, 3] } }],
    ['$and', { $and: [{ color: 'green' }, { bucket: { $gt: 4 } }] }],
    ['$or', { $or: [{ bucket: 0 }, { even: false }] }],
    ['nested', { $and: [{ $or: [{ color: 'red' }, { color: 'blue' }] }, { score: { $gte: 2 } }] }],
    ['$and of none', { $and: [] }],
    ['$or of none', { $or: [] }],
    ['string vs number', { bucket: '3' }],
  ];
  for (const [label, where] of wheres) add({ name: `get where ${label}`, method: 'POST', path: `${c}/get`, body: { where, include: ['metadatas'] } });
  add({ name: 'where with a float bound on ints', method: 'POST', path: `${c}/get`, body: { where: { bucket: { $lt: 2.5 } } }, known: 'Chroma 1.0 truncates a float bound compared with integer values (2 < 2.5 fails); membank compares numbers' });
  for (const [label, where] of [
    ['two keys', { color: 'red', bucket: 1 }],
    ['unknown operator', { bucket: { $like: 1 } }],
    ['$gt on a string', { color: { $gt: 'a' } }],
    ['$in empty', { bucket: { $in: [] } }],
    ['$in mixed types', { bucket: { $in: [1, 'a'] } }],
    ['empty', {}],
    ['null value', { bucket: null }],
    ['list value', { bucket: [1] }],
  ] as const) {
    add({ name: `bad where: ${label}`, method: 'POST', path: `${c}/get`, body: { where } });
  }
  for (const [label, whereDocument] of [
    ['$contains', { $contains: 'apple' }],
    ['$contains is case-sensitive', { $contains: 'special' }],
    ['$not_contains', { $not_contains: 'apple' }],
    ['$contains empty', { $contains: '' }],
    ['$regex', { $regex: 'ch.rry' }],
    ['$regex (?i)', { $regex: '(?i)special' }],
    ['$not_regex', { $not_regex: '^apple' }],
    ['$and', { $and: [{ $contains: 'fox' }, { $not_contains: 'golf' }] }],
    ['$or', { $or: [{ $contains: 'hotel' }, { $regex: 'item 1\\d$' }] }],
  ] as const) {
    add({ name: `get where_document ${label}`, method: 'POST', path: `${c}/get`, body: { where_document: whereDocument, include: ['documents'] } });
  }
  add({ name: 'get where and where_document', method: 'POST', path: `${c}/get`, body: { where: { color: 'red' }, where_document: { $contains: 'fox' } } });
  for (const [label, whereDocument] of [
    ['two operators', { $contains: 'a', $not_contains: 'b' }],
    ['unknown operator', { $like: 'a' }],
    ['not a string', { $contains: 1 }],
    ['bad regex', { $regex: '(' }],
    ['empty', {}],
  ] as const) {
    add({ name: `bad where_document: ${label}`, method: 'POST', path: `${c}/get`, body: { where_document: whereDocument } });
  }
  add({ name: 'get bad include', method: 'POST', path: `${c}/get`, body: { include: ['vectors'] } });
  add({ name: 'get negative limit', method: 'POST', path: `${c}/get`, body: { limit: -1 } });

  for (const name of ['diff-l2', 'diff-cosine', 'diff-ip']) {
    const queries = Array.from({ length: 4 }, vec);
    add({ name: `${name}: query`, method: 'POST', path: `${C(name)}/query`, body: { query_embeddings: queries, n_results: 10 } });
    add({ name: `${name}: query all included`, method: 'POST', path: `${C(name)}/query`, body: { query_embeddings: [queries[0]], n_results: 3, include: ['distances', 'documents', 'metadatas', 'embeddings', 'uris'] } });
    add({ name: `${name}: query where`, method: 'POST', path: `${C(name)}/query`, body: { query_embeddings: queries, n_results: 5, where: { color: 'blue' } } });
    add({ name: `${name}: query where_document`, method: 'POST', path: `${C(name)}/query`, body: { query_embeddings: queries, n_results: 5, where_document: { $contains: 'banana' } } });
  }
  const q = vec();
  add({ name: 'query where and where_document', method: 'POST', path: `${c}/query`, body: { query_embeddings: [q], n_results: 5, where: { even: true }, where_document: { $regex: 'a.p' } } });
  add({ name: 'query by ids and where', method: 'POST', path: `${c}/query`, body: { query_embeddings: [q], ids: ['r3', 'r4', 'r5', 'r6'], where: { even: true } } });
  add({ name: 'query by ids', method: 'POST', path: `${c}/query`, body: { query_embeddings: [q], ids: ['r3', 'r4', 'r5', 'r77'] } });
  add({ name: 'query more results than records', method: 'POST', path: `${c}/query`, body: { query_embeddings: [q], n_results: 500, include: ['distances'] } });
  add({ name: 'query where matching nothing', method: 'POST', path: `${c}/query`, body: { query_embeddings: [q], where: { bucket: 99 } } });
  add({ name: 'query n_results 0', method: 'POST', path: `${c}/query`, body: { query_embeddings: [q], n_results: 0 } });
  add({ name: 'query no embeddings', method: 'POST', path: `${c}/query`, body: { query_embeddings: [] } });
  add({ name: 'query include nothing', method: 'POST', path: `${c}/query`, body: { query_embeddings: [q], n_results: 3, include: [] } });
  add({ name: 'query wrong dimension', method: 'POST', path: `${c}/query`, body: { query_embeddings: [[1, 2, 3]] } });
  add({ name: 'query bad where', method: 'POST', path: `${c}/query`, body: { query_embeddings: [q], where: { bucket: { $bad: 1 } } } });
  add({ name: 'query bad include', method: 'POST', path: `${c}/query`, body: { query_embeddings: [q], include: ['bogus'] } });
  add({ name: 'query without query_embeddings', method: 'POST', path: `${c}/query`, body: { n_results: 2 } });

  add({ name: 'update metadata (merge, null drops)', method: 'POST', path: `${c}/update`, body: { ids: ['r1', 'r2'], metadatas: [{ color: 'purple', bucket: null }, { extra: 'x' }] } });
  add({ name: 'update document', method: 'POST', path: `${c}/update`, body: { ids: ['r3'], documents: ['rewritten cherry'] } });
  add({ name: 'update embedding', method: 'POST', path: `${c}/update`, body: { ids: ['r4'], embeddings: [vec()] } });
  add({ name: 'update uri', method: 'POST', path: `${c}/update`, body: { ids: ['r6'], uris: ['file:///r6'] } });
  add({ name: 'update a missing id', method: 'POST', path: `${c}/update`, body: { ids: ['nope'], documents: ['x'] } });
  add({ name: 'update wrong dimension', method: 'POST', path: `${c}/update`, body: { ids: ['r1'], embeddings: [[1]] } });
  add({ name: 'after updates', method: 'POST', path: `${c}/get`, body: { ids: ['r1', 'r2', 'r3', 'r4', 'r6'], include: ['documents', 'metadatas', 'embeddings', 'uris'] } });
  add({ name: 'upsert existing and new', method: 'POST', path: `${c}/upsert`, body: { ids: ['r7', 'n1'], embeddings: [vec(), vec()], metadatas: [{ upserted: true }, { upserted: true }] } });
  add({ name: 'upsert keeps the document', method: 'POST', path: `${c}/upsert`, body: { ids: ['r8'], embeddings: [vec()], documents: ['upserted text'] } });
  add({ name: 'after upserts', method: 'POST', path: `${c}/get`, body: { ids: ['r7', 'n1', 'r8'], include: ['documents', 'metadatas', 'embeddings', 'uris'] } });
  add({ name: 'new record comes last', method: 'POST', path: `${c}/get`, body: { offset: N - 2, include: [] } });

  add({ name: 'delete by ids', method: 'POST', path: `${c}/delete`, body: { ids: ['r10', 'r11', 'nope'] } });
  add({ name: 'delete by where', method: 'POST', path: `${c}/delete`, body: { where: { bucket: 9 } } });
  add({ name: 'delete by where_document', method: 'POST', path: `${c}/delete`, body: { where_document: { $contains: 'Special' } } });
  add({ name: 'delete ids and where (both must hold)', method: 'POST', path: `${c}/delete`, body: { ids: ['r12', 'r14'], where: { bucket: 2 } } });
  add({ name: 'delete bad where', method: 'POST', path: `${c}/delete`, body: { where: { $bad: [] } } });
  add({ name: 'delete with empty ids', method: 'POST', path: `${c}/delete`, body: { ids: [] } });
  add({ name: 'delete nothing', method: 'POST', path: `${c}/delete`, body: {} });
  add({ name: 'count after deletes', method: 'GET', path: `${c}/count` });
  add({ name: 'get after deletes', method: 'POST', path: `${c}/get`, body: { include: [] } });

  add({ name: 'rename and new metadata', method: 'PUT', path: c, body: { new_name: 'diff-renamed', new_metadata: { renamed: true } } });
  add({ name: 'get renamed', method: 'GET', path: `${DB}/collections/diff-renamed` });
  add({ name: 'old name is gone', method: 'GET', path: `${DB}/collections/diff-l2` });
  add({ name: 'renamed keeps its records (old id)', method: 'POST', path: `${c}/get`, body: { limit: 5 } });
  add({ name: 'rename to a bad name', method: 'PUT', path: c, body: { new_name: 'x' } });
  add({ name: 'rename to a taken name', method: 'PUT', path: c, body: { new_name: 'diff-ip' }, known: 'Chroma 1.0 answers 500 (a UNIQUE constraint); membank 409, as for creating a taken name' });
  add({ name: 'change ef_search', method: 'PUT', path: C('diff-ip'), body: { new_configuration: { hnsw: { ef_search: 20 } } } });
  add({ name: 'change ef_search to another value', method: 'PUT', path: C('diff-ip'), body: { new_configuration: { hnsw: { ef_search: 40 } } } });
  add({ name: 'ef_search changed', method: 'GET', path: `${DB}/collections/diff-ip` });
  add({ name: 'query after ef_search changed', method: 'POST', path: `${C('diff-ip')}/query`, body: { query_embeddings: [q], n_results: 5 } });
  add({ name: 'change resize_factor and sync_threshold', method: 'PUT', path: C('diff-ip'), body: { new_configuration: { hnsw: { resize_factor: 1.5, sync_threshold: 500 } } } });
  add({ name: 'configuration changed, metadata kept', method: 'GET', path: `${DB}/collections/diff-ip` });
  add({ name: 'create with an embedding function', method: 'POST', path: `${DB}/collections`, body: { name: 'diff-ef', configuration: { embedding_function: { type: 'legacy' } } } });
  add({ name: 'embedding function kept', method: 'GET', path: `${DB}/collections/diff-ef` });
  add({ name: 'modify unknown hnsw field', method: 'PUT', path: C('diff-ip'), body: { new_configuration: { hnsw: { space: 'l2' } } } });
  add({ name: 'modify with empty metadata', method: 'PUT', path: C('diff-ip'), body: { new_metadata: {} } });
  add({ name: 'list collections', method: 'GET', path: `${DB}/collections` });
  add({ name: 'list with limit offset', method: 'GET', path: `${DB}/collections?limit=2&offset=1`, statusOnly: true });
  add({ name: 'list bad limit', method: 'GET', path: `${DB}/collections?limit=abc` });

  add({ name: 'not a uuid', method: 'POST', path: `${DB}/collections/not-a-uuid/get`, body: {} });
  add({ name: 'unknown uuid', method: 'POST', path: `${DB}/collections/00000000-0000-4000-8000-000000000000/get`, body: {} });
  add({ name: 'modify unknown uuid', method: 'PUT', path: `${DB}/collections/00000000-0000-4000-8000-000000000000`, body: { new_name: 'abc' } });
  add({ name: 'delete collection', method: 'DELETE', path: `${DB}/collections/diff-cosine` });
  add({ name: 'delete it again', method: 'DELETE', path: `${DB}/collections/diff-cosine` });
  add({ name: 'add to a deleted collection', method: 'POST', path: `${C('diff-cosine')}/add`, body: { ids: ['a'], embeddings: [vec()] } });
  add({ name: 'collections count after delete', method: 'GET', path: `${DB}/collections_count` });

  add({ name: 'create tenant', method: 'POST', path: '/api/v2/tenants', body: { name: 'acme' } });
  add({ name: 'create tenant again', method: 'POST', path: '/api/v2/tenants', body: { name: 'acme' } });
  add({ name: 'tenant name too short', method: 'POST', path: '/api/v2/tenants', body: { name: 'ab' } });
  add({ name: 'get tenant', method: 'GET', path: '/api/v2/tenants/acme' });
  add({ name: 'create database', method: 'POST', path: '/api/v2/tenants/acme/databases', body: { name: 'prod' } });
  add({ name: 'create database again', method: 'POST', path: '/api/v2/tenants/acme/databases', body: { name: 'prod' } });
  add({ name: 'list databases', method: 'GET', path: '/api/v2/tenants/acme/databases', statusOnly: true });
  add({ name: 'get database', method: 'GET', path: '/api/v2/tenants/acme/databases/prod', statusOnly: true });
  add({ name: 'collection in a database', method: 'POST', path: '/api/v2/tenants/acme/databases/prod/collections', body: { name: 'diff-l2' } });
  add({ name: 'collection in a missing database', method: 'POST', path: '/api/v2/tenants/acme/databases/nope/collections', body: { name: 'diff-l2' } });
  add({ name: 'collections of the database', method: 'GET', path: '/api/v2/tenants/acme/databases/prod/collections' });
  add({ name: 'default database unchanged', method: 'GET', path: `${DB}/collections_count` });
  add({ name: 'delete database', method: 'DELETE', path: '/api/v2/tenants/acme/databases/prod' });
  add({ name: 'deleted database', method: 'GET', path: '/api/v2/tenants/acme/databases/prod' });
  add({ name: 'unknown route', method: 'GET', path: '/api/v2/nothing-here', statusOnly: true });
  return s;
}

async function call(base: string, ids: Map<string, string>, step: Step): Promise<Answer> {
  const path = step.path.replace(/\{c:([^}]+)\}/g, (_m, name: string) => ids.get(name) ?? '11111111-1111-4111-8111-111111111111');
  const headers: Record<string, string> = {};
  let body: string | undefined;
  if (step.raw) {
    body = step.raw.text;
    headers['content-type'] = step.raw.type ?? 'application/json';
  } else if (step.body !== undefined) {
    body = JSON.stringify(step.body);
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(base + path, { method: step.method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: compared as text
  }
  // Remember collection ids as each server hands them out.
  const collection = parsed as { id?: unknown; name?: unknown; database?: unknown };
  if (response.ok && typeof collection?.id === 'string' && typeof collection.name === 'string' && collection.database === 'default_database') {
    ids.set(collection.name, collection.id);
  }
  return { status: response.status, body: parsed };
}

/** The first difference between Chroma's answer and membank's, or undefined. */
function difference(a: unknown, b: unknown, at: string): string | undefined {
  if (typeof a === 'number' && typeof b === 'number') {
    const tolerance = /distances/.test(at) ? 1e-4 : /embeddings/.test(at) ? 1e-6 : 0;
    return Math.abs(a - b) <= tolerance ? undefined : `${at}: ${a} vs ${b}`;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b)) return `${at}: ${JSON.stringify(a)?.slice(0, 80)} vs ${JSON.stringify(b)?.slice(0, 80)}`;
    if (a.length !== b.length) return `${at}: ${a.length} items vs ${b.length}: ${JSON.stringify(a).slice(0, 120)} vs ${JSON.stringify(b).slice(0, 120)}`;
    for (let i = 0; i < a.length; i++) {
      const d = difference(a[i], b[i], `${at}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of keys) {
      // Collection and database ids differ by nature.
      if (key === 'id' && /^(\$|\$\[\d+\])$/.test(at)) continue;
      const d = difference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], `${at}.${key}`);
      if (d) return d;
    }
    return undefined;
  }
  return a === b ? undefined : `${at}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
}

/** Lists of collections come in id order, which differs by nature: compare them by name. */
function normalize(body: unknown): unknown {
  if (Array.isArray(body) && body.every((x) => typeof x === 'object' && x !== null && 'configuration_json' in x)) {
    return [...body].sort((x, y) => String(x.name).localeCompare(String(y.name)));
  }
  return body;
}

async function main(): Promise<number> {
  const dirs: string[] = [];
  const started: Running[] = [];
  const temp = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'chroma-diff-'));
    dirs.push(dir);
    return dir;
  };
  try {
    const chromaUrl: string = args.chroma ?? (await startChroma(temp()).then((r) => (started.push(r), r.url)));
    const membankUrl: string = args.membank ?? (await startMembankChroma(temp()).then((r) => (started.push(r), r.url)));
    console.log(`Chroma  ${chromaUrl}\nmembank ${membankUrl}\n`);
    const ids = { chroma: new Map<string, string>(), membank: new Map<string, string>() };
    let failed = 0;
    let known = 0;
    let passed = 0;
    for (const step of steps()) {
      const a = await call(chromaUrl, ids.chroma, step);
      const b = await call(membankUrl, ids.membank, step);
      let diff = a.status !== b.status ? `status ${a.status} vs ${b.status}` : undefined;
      if (!diff && !step.statusOnly && a.status < 300) diff = difference(normalize(a.body), normalize(b.body), '$');
      if (!diff && a.status >= 300) {
        const shape = (x: unknown) => typeof x === 'object' && x !== null && typeof (x as { message?: unknown }).message === 'string';
        if (a.body !== null && shape(a.body) && !shape(b.body)) diff = `error body: ${JSON.stringify(b.body)}`;
      }
      const verdict = !diff ? 'ok   ' : step.known ? 'known' : 'DIFF ';
      if (!diff) passed++;
      else if (step.known) known++;
      else failed++;
      console.log(`${verdict} ${a.status} ${step.name}${diff ? `\n        ${diff}${step.known ? `\n        (${step.known})` : ''}` : ''}`);
      if (args.verbose || (diff && !step.known)) {
        console.log(`        chroma : ${JSON.stringify(a.body)?.slice(0, 400)}\n        membank: ${JSON.stringify(b.body)?.slice(0, 400)}`);
      }
    }
    console.log(`\n${passed} passed, ${failed} failed, ${known} known differences`);
    return failed > 0 ? 1 : 0;
  } finally {
    for (const server of started) await stop(server);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
