/**
 * Embeddings from any OpenAI-compatible `/v1/embeddings` server (OpenAI, vLLM, Ollama, text-embeddings-
 * inference, or another membank). Batches texts, times out instead of hanging, retries 429 and 5xx with
 * exponential backoff, and reads both float and base64 answers.
 */
import { MembankError } from '../../core/errors.js';
import type { Embedder } from '../../ports/embedder.js';

export interface OpenAIEmbedderOptions {
  /** Base URL that ends before `/embeddings`, e.g. `https://api.openai.com/v1`. */
  baseUrl: string;
  apiKey?: string;
  /** The remote model name. */
  model: string;
  /** Name this embedder goes by in membank (`openai:<model>`). */
  name: string;
  batchSize: number;
  timeoutMs: number;
  retries: number;
}

interface EmbeddingsResponse {
  data: { index: number; embedding: number[] | string }[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Decodes OpenAI's base64 encoding: the float32 values' little-endian bytes. */
export function decodeBase64Embedding(text: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  const out = new Float32Array(bytes.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

export async function createOpenAIEmbedder(options: OpenAIEmbedderOptions): Promise<Embedder> {
  const url = `${options.baseUrl.replace(/\/+$/, '')}/embeddings`;

  const request = async (texts: string[]): Promise<Float32Array[]> => {
    let lastProblem = '';
    for (let attempt = 0; attempt <= options.retries; attempt++) {
      if (attempt > 0) await sleep(Math.min(8000, 250 * 2 ** (attempt - 1)));
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
          },
          body: JSON.stringify({ model: options.model, input: texts, encoding_format: 'base64' }),
          signal: AbortSignal.timeout(options.timeoutMs),
        });
      } catch (error) {
        const reason = error instanceof Error && error.name === 'TimeoutError' ? `no answer in ${options.timeoutMs} ms` : String((error as Error).cause ?? error);
        lastProblem = `cannot reach ${url}: ${reason}`;
        continue;
      }
      if (response.status === 429 || response.status >= 500) {
        lastProblem = `${url} answered ${response.status}`;
        await response.body?.cancel();
        continue;
      }
      if (!response.ok) {
        throw new MembankError('EMBEDDER_FAILED', `${options.name}: ${url} answered ${response.status}: ${(await response.text()).slice(0, 500)}`);
      }
      const body = (await response.json()) as EmbeddingsResponse;
      if (!Array.isArray(body.data) || body.data.length !== texts.length) {
        throw new MembankError('EMBEDDER_FAILED', `${options.name}: expected ${texts.length} embeddings from ${url}, got ${body.data?.length}`);
      }
      return [...body.data]
        .sort((a, b) => a.index - b.index)
        .map((d) => (typeof d.embedding === 'string' ? decodeBase64Embedding(d.embedding) : Float32Array.from(d.embedding)));
    }
    throw new MembankError('EMBEDDER_FAILED', `${options.name}: ${lastProblem} (after ${options.retries + 1} tries; check MEMBANK_OPENAI_BASE_URL)`);
  };

  const embed = async (texts: string[]): Promise<Float32Array[]> => {
    const batches: Promise<Float32Array[]>[] = [];
    for (let start = 0; start < texts.length; start += options.batchSize) {
      batches.push(request(texts.slice(start, start + options.batchSize)));
    }
    return (await Promise.all(batches)).flat();
  };

  // The model's size is whatever the server says: learn it once, up front.
  const [probe] = await embed(['dimension probe']);
  return {
    name: options.name,
    dimensions: probe!.length,
    // A remote server names no weights revision; its model name and size are what can be checked.
    revision: `${options.model}/${probe!.length}d`,
    device: 'remote',
    embed: (texts) => embed(texts),
    close: async () => {},
  };
}
