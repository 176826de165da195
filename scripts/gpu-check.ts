/**
 * Times the same embedder on the CPU and on CUDA (see gpu-check.sh). Reports the device actually used:
 * a row that says cpu under "cuda" means the GPU could not be used, and why is printed beside it.
 *   MEMBANK_MODELS_DIR=/models MEMBANK_GPU_CHECK_MODEL=Xenova/all-MiniLM-L6-v2 node --import tsx scripts/gpu-check.ts
 */
import { builtinEmbedders, createEmbedderProvider } from '../src/adapters/embedders/provider.js';
import { rng } from '../test/fixtures/random.js';

const random = rng(1);
const words = 'i we went saw loved the a my new dog park museum concert painting book trip beach friends family kids work music'.split(' ');
const texts = Array.from({ length: 2000 }, () => Array.from({ length: 30 }, () => words[Math.floor(random() * words.length)]).join(' '));
const modelsDir = process.env.MEMBANK_MODELS_DIR ?? 'models';
const candidates = ['use-lite', ...(process.env.MEMBANK_GPU_CHECK_MODEL ? [`transformers:${process.env.MEMBANK_GPU_CHECK_MODEL}`] : [])];

console.log('| embedder | asked | ran on | texts/s | note |');
console.log('|---|---|---|---|---|');
for (const name of candidates) {
  for (const device of ['cpu', 'cuda'] as const) {
    const notices: string[] = [];
    const provider = createEmbedderProvider(
      builtinEmbedders({ device, transformers: { modelsDir, allowRemote: false }, onNotice: (m) => notices.push(m) }),
    );
    try {
      const embedder = await provider.get(name);
      await embedder.embed(texts.slice(0, 64));
      const started = performance.now();
      await embedder.embed(texts);
      const rate = texts.length / ((performance.now() - started) / 1000);
      console.log(`| ${name} | ${device} | ${embedder.device} | ${rate.toFixed(0)} | ${notices.join('; ')} |`);
    } catch (error) {
      console.log(`| ${name} | ${device} | - | - | ${(error as Error).message.replace(/\|/g, '/').slice(0, 300)} |`);
    } finally {
      await provider.close();
    }
  }
}
