/**
 * The transformers.js provider, for real and offline: a tiny BERT-shaped ONNX model with random weights and a
 * WordPiece tokenizer (test/fixtures/tiny-bert.ts), loaded through @huggingface/transformers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinEmbedders, createEmbedderProvider } from '../src/adapters/embedders/provider.js';
import { parseTransformersSpec } from '../src/adapters/embedders/transformers/index.js';
import type { EmbedderProvider } from '../src/ports/embedder.js';
import { TINY_BERT, tinyBertVocab, writeTinyBert } from './fixtures/tiny-bert.js';
import { startMembank, tempDir } from './helpers.js';

const modelsDir = tempDir();
writeTinyBert(modelsDir);
const notices: string[] = [];
let provider: EmbedderProvider;

beforeAll(() => {
  provider = createEmbedderProvider(
    builtinEmbedders({ device: 'auto', transformers: { modelsDir, allowRemote: false }, onNotice: (m) => notices.push(m) }),
  );
});
afterAll(() => provider.close());

const norm = (v: Float32Array) => Math.hypot(...v);

describe('transformers: provider', () => {
  it('loads offline, falls back from the GPU to the CPU with a notice, and makes normalized vectors', async () => {
    const embedder = await provider.get('transformers:tiny-bert');
    expect(embedder).toMatchObject({ name: 'transformers:tiny-bert', dimensions: TINY_BERT.hidden, device: 'cpu' });
    expect(notices.some((n) => n.includes('transformers:tiny-bert: no usable GPU'))).toBe(true);
    const [a, b] = await embedder.embed(['the cat sat on the mat', 'alice lives in paris']);
    expect(norm(a!)).toBeCloseTo(1, 5);
    expect(norm(b!)).toBeCloseTo(1, 5);
    expect(Array.from(a!)).not.toEqual(Array.from(b!));
  });

  it('is deterministic and batch-independent', async () => {
    const embedder = await provider.get('transformers:tiny-bert');
    const texts = ['the cat sat on the mat', 'a small red car', 'we ate pasta today and it was good', 'bob'];
    const together = await embedder.embed(texts);
    for (const [i, text] of texts.entries()) {
      const [alone] = await embedder.embed([text]);
      for (let j = 0; j < TINY_BERT.hidden; j++) expect(alone![j]).toBeCloseTo(together[i]![j]!, 5);
    }
  });

  it('truncates long inputs to the model limit, and to maxLength when given', async () => {
    const embedder = await provider.get('transformers:tiny-bert');
    const words = tinyBertVocab().slice(5, 105);
    const same = (a: Float32Array, b: Float32Array) => a.every((x, j) => Math.abs(x - b[j]!) < 1e-5);
    // Past the limit, nothing counts: 100 words and 40 words embed alike; 10 words (within the limit) do not.
    const [hundred, forty, ten] = await embedder.embed([words.join(' '), words.slice(0, 40).join(' '), words.slice(0, 10).join(' ')]);
    expect(same(hundred!, forty!)).toBe(true);
    expect(same(hundred!, ten!)).toBe(false);

    const short = await provider.get('transformers:tiny-bert?maxLength=6&device=cpu');
    const [a, b, c] = await short.embed([words.join(' '), words.slice(0, 8).join(' '), words.slice(0, 2).join(' ')]);
    expect(same(a!, b!)).toBe(true);
    expect(same(a!, c!)).toBe(false);
    expect(same(a!, hundred!)).toBe(false);
  });

  it('honours pooling and normalization options', async () => {
    const cls = await provider.get('transformers:tiny-bert?pooling=cls&normalize=false&device=cpu');
    const mean = await provider.get('transformers:tiny-bert?device=cpu');
    const [c] = await cls.embed(['the cat sat on the mat']);
    const [m] = await mean.embed(['the cat sat on the mat']);
    expect(Math.abs(norm(c!) - 1)).toBeGreaterThan(0.01);
    expect(Array.from(c!)).not.toEqual(Array.from(m!));
  });

  it('fails clearly: a missing model says where to put the files; cuda without a GPU says so', async () => {
    await expect(provider.get('transformers:Xenova/all-MiniLM-L6-v2')).rejects.toMatchObject({
      code: 'EMBEDDER_FAILED',
      message: expect.stringMatching(/not in .*Xenova\/all-MiniLM-L6-v2: put config\.json, tokenizer\.json.*MEMBANK_MODELS_DIR.*MEMBANK_ALLOW_REMOTE_MODELS/),
    });
    await expect(provider.get('transformers:tiny-bert?device=cuda')).rejects.toMatchObject({
      code: 'EMBEDDER_FAILED',
      message: expect.stringContaining('cannot run on cuda'),
    });
  });

  it('rejects malformed names', () => {
    expect(parseTransformersSpec('transformers:x?dtype=int4')).toMatchObject({ ok: false, code: 'UNKNOWN_EMBEDDER' });
    expect(parseTransformersSpec('transformers:x?colour=red')).toMatchObject({ ok: false });
    expect(parseTransformersSpec('transformers:../etc')).toMatchObject({ ok: false });
    expect(parseTransformersSpec('transformers:a/b?pooling=cls&maxLength=64')).toMatchObject({
      ok: true,
      value: { model: 'a/b', pooling: 'cls', maxLength: 64, dtype: 'fp32', normalize: true },
    });
  });

  it('serves a namespace through HTTP, and a device error is a 503 for that namespace, not a crash', async () => {
    const m = await startMembank(tempDir(), { modelsDir }, {
      embedders: createEmbedderProvider(builtinEmbedders({ device: 'cpu', transformers: { modelsDir, allowRemote: false } })),
    });
    try {
      const created = await m.api.post('/v1/namespaces', { name: 'tb', embedder: 'transformers:tiny-bert' });
      expect(created.body).toMatchObject({ embedder: 'transformers:tiny-bert', dimensions: TINY_BERT.hidden });
      await m.api.post('/v1/namespaces/tb/memories', { memories: [{ id: 'a', text: 'alice lives in paris' }, { id: 'b', text: 'we ate pasta today' }] });
      const hit = (await m.api.post('/v1/namespaces/tb/query', { query: 'alice lives in paris', k: 1 })).body.results[0];
      expect(hit).toMatchObject({ id: 'a' });
      expect(hit.score).toBeCloseTo(1, 4);
      const bad = await m.api.post('/v1/namespaces', { name: 'gpu', embedder: 'transformers:tiny-bert?device=cuda' });
      expect(bad.status).toBe(503);
      expect(bad.body.error.code).toBe('EMBEDDER_FAILED');
      expect((await m.api.get('/healthz')).status).toBe(200);
    } finally {
      await m.close();
    }
  });
});
