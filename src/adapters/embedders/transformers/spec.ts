/**
 * Parses `transformers:<model>[?options]` embedder names, e.g.
 * `transformers:Xenova/all-MiniLM-L6-v2`, `transformers:Xenova/bge-small-en-v1.5?pooling=cls&dtype=q8`,
 * `transformers:/srv/models/my-model?device=cpu&maxLength=256`.
 */
import { fail, ok, type Result } from '../../../core/errors.js';

export const TRANSFORMERS_PREFIX = 'transformers:';

export interface TransformersSpec {
  /** A hub id (looked up under the models directory) or an absolute folder. */
  model: string;
  device: 'auto' | 'cuda' | 'webgpu' | 'cpu';
  dtype: 'fp32' | 'fp16' | 'q8';
  pooling: 'mean' | 'cls';
  normalize: boolean;
  /** Tokens kept per text; longer texts are truncated. Defaults to the model's own limit. */
  maxLength?: number;
}

const CHOICES = {
  device: ['auto', 'cuda', 'webgpu', 'cpu'],
  dtype: ['fp32', 'fp16', 'q8'],
  pooling: ['mean', 'cls'],
  normalize: ['true', 'false'],
} as const;

export function parseTransformersSpec(name: string, defaultDevice: TransformersSpec['device'] = 'auto'): Result<TransformersSpec> {
  const body = name.slice(TRANSFORMERS_PREFIX.length);
  const [model = '', query = ''] = body.split('?', 2);
  if (!model || /[\0\\]|(^|\/)\.\.(\/|$)/.test(model)) {
    return fail('UNKNOWN_EMBEDDER', `"${name}": expected transformers:<hub id or absolute folder>[?options].`);
  }
  const spec: TransformersSpec = { model, device: defaultDevice, dtype: 'fp32', pooling: 'mean', normalize: true };
  for (const [key, value] of new URLSearchParams(query)) {
    if (key === 'maxLength') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1 || n > 8192) return fail('UNKNOWN_EMBEDDER', `"${name}": maxLength must be an integer from 1 to 8192.`);
      spec.maxLength = n;
    } else if (key in CHOICES) {
      const allowed = CHOICES[key as keyof typeof CHOICES] as readonly string[];
      if (!allowed.includes(value)) return fail('UNKNOWN_EMBEDDER', `"${name}": ${key} must be one of ${allowed.join(', ')}.`);
      if (key === 'normalize') spec.normalize = value === 'true';
      else (spec as unknown as Record<string, string>)[key] = value;
    } else {
      return fail('UNKNOWN_EMBEDDER', `"${name}": unknown option ${key} (device, dtype, pooling, normalize, maxLength).`);
    }
  }
  return ok(spec);
}
