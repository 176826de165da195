/**
 * Vectors for a namespace: the caller's where given (checked against the namespace's space and dimensions),
 * else embedded by the namespace's embedder, refusing an embedder whose revision changed under the namespace.
 */
import { checkVector } from '../core/distance.js';
import { MembankError, unwrap } from '../core/errors.js';
import type { NamespaceRecord } from '../core/types.js';
import type { EmbedderProvider, EmbedPriority } from '../ports/embedder.js';

export function createEmbedding(embedders: EmbedderProvider) {
  async function embed(record: NamespaceRecord, texts: string[], priority: EmbedPriority): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    if (record.embedder === null) {
      throw new MembankError('NO_EMBEDDER', `Namespace "${record.name}" has no embedder: supply vectors with the texts.`);
    }
    const embedder = await embedders.get(record.embedder);
    if (record.embedderRevision !== null && embedder.revision !== record.embedderRevision) {
      throw new MembankError(
        'EMBEDDER_MISMATCH',
        `Namespace "${record.name}" was embedded with ${record.embedder} at revision ${record.embedderRevision}, but that embedder is now at ${embedder.revision}: its vectors would not be comparable. Re-embed the namespace (POST /v1/namespaces/${record.name}/reembed).`,
      );
    }
    const vectors = await embedder.embed(texts, priority);
    return vectors.map((v) => unwrap(checkVector(record.space, record.dimensions, v)));
  }

  /** Vectors for inputs: the caller's where given (checked), else embedded; `at` names the inputs in errors. */
  async function vectorsFor(record: NamespaceRecord, inputs: { text?: string; vector?: number[] }[], at: string): Promise<Float32Array[]> {
    const vectors = new Array<Float32Array>(inputs.length);
    const toEmbed: number[] = [];
    inputs.forEach((input, i) => {
      if (input.vector) {
        const checked = checkVector(record.space, record.dimensions, input.vector);
        if (!checked.ok) throw new MembankError(checked.code, `${at}[${i}].vector: ${checked.message}`, checked.details);
        vectors[i] = checked.value;
      } else {
        toEmbed.push(i);
      }
    });
    const embedded = await embed(record, toEmbed.map((i) => inputs[i]!.text!), 'ingest');
    toEmbed.forEach((inputIndex, j) => (vectors[inputIndex] = embedded[j]!));
    return vectors;
  }

  return { embed, vectorsFor };
}

export type Embedding = ReturnType<typeof createEmbedding>;
