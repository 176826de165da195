/**
 * membank/ai-sdk against a real membank server and the real `ai` package: generateText with the AI SDK's mock
 * language model calls remember, then recall, getContext and forget, and the tools' results reach the model;
 * scopes keep users apart; membank's errors come back as tool errors carrying the code.
 */
import { generateText, stepCountIs } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { membankTools } from '../../src/integrations/ai-sdk/index.js';
import { type Running, startMembank } from '../helpers.js';

let server: Running;
beforeAll(async () => {
  server = await startMembank();
});
afterAll(() => server.close());

let counter = 0;
const fresh = (prefix: string) => `${prefix}-${++counter}`;

const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 1, text: 1, reasoning: undefined },
};

type Call = { toolName: string; input: unknown } | ((results: unknown[]) => { toolName: string; input: unknown });

/**
 * A mock model that makes the given tool calls, one per step (a call may be built from the results so far), then
 * answers with the JSON of every tool result it was shown.
 */
function scriptedModel(calls: Call[]) {
  let step = 0;
  return new MockLanguageModelV3({
    doGenerate: async (options) => {
      const results = options.prompt
        .filter((m) => m.role === 'tool')
        .flatMap((m) => m.content)
        .map((part) => (part.type === 'tool-result' ? (part.output as { value: unknown }).value : undefined));
      const next = calls[step];
      step++;
      if (next === undefined) return { content: [{ type: 'text', text: JSON.stringify(results) }], finishReason: { unified: 'stop', raw: undefined }, usage, warnings: [] };
      const { toolName, input } = typeof next === 'function' ? next(results) : next;
      return {
        content: [{ type: 'tool-call', toolCallId: `call-${step}`, toolName, input: JSON.stringify(input) }],
        finishReason: { unified: 'tool-calls', raw: undefined },
        usage,
        warnings: [],
      };
    },
  });
}

describe('membankTools with generateText and the mock model', () => {
  it('remember, then recall, getContext and forget, end to end', async () => {
    const namespace = fresh('ai');
    const tools = membankTools({ url: server.url, namespace });
    const model = scriptedModel([
      { toolName: 'remember', input: { text: 'Ann adopted a puppy named Rex', metadata: { topic: 'pets' }, importance: 0.8 } },
      { toolName: 'remember', input: { text: 'The quarterly report is due on Friday', metadata: { topic: 'work' } } },
      { toolName: 'recall', input: { query: 'puppy named Rex', k: 1 } },
      { toolName: 'recall', input: { query: 'report', filter: { topic: 'work' } } },
      { toolName: 'getContext', input: { query: 'What pet does Ann have?', maxTokens: 100 } },
      (results) => ({ toolName: 'forget', input: { ids: [(results[0] as { id: string }).id, 'no-such-id'] } }),
      { toolName: 'recall', input: { query: 'puppy named Rex' } },
    ]);
    const result = await generateText({ model, tools, stopWhen: stepCountIs(10), prompt: 'Remember my puppy, then tell me about it.' });

    const outputs = result.steps.flatMap((s) => s.toolResults).map((r) => [r.toolName, r.output]);
    expect(outputs.map(([name]) => name)).toEqual(['remember', 'remember', 'recall', 'recall', 'getContext', 'forget', 'recall']);
    const [first, , recalled, filtered, context, forgot, after] = outputs.map(([, output]) => output as any);
    expect(first.id).toEqual(expect.any(String));
    expect(recalled.results).toEqual([expect.objectContaining({ id: first.id, text: 'Ann adopted a puppy named Rex', metadata: { topic: 'pets' } })]);
    expect(filtered.results.map((r: { text: string }) => r.text)).toEqual(['The quarterly report is due on Friday']);
    expect(context.context).toContain('Ann adopted a puppy named Rex');
    expect(context.tokens).toBeLessThanOrEqual(100);
    expect(forgot).toEqual({ deleted: 1, missing: ['no-such-id'] });
    expect(after.results.map((r: { id: string }) => r.id)).not.toContain(first.id);

    // The model saw the tools' results, and was shown membank's own limits in the input schemas.
    expect(result.text).toContain('Ann adopted a puppy named Rex');
    const offered = model.doGenerateCalls[0]!.tools!.map((t) => t.name).sort();
    expect(offered).toEqual(['forget', 'getContext', 'recall', 'remember']);
    const remember = model.doGenerateCalls[0]!.tools!.find((t) => t.name === 'remember') as { inputSchema: any };
    expect(remember.inputSchema.properties.text).toMatchObject({ type: 'string', maxLength: 100_000 });
    expect(remember.inputSchema.properties.importance).toMatchObject({ minimum: 0, maximum: 1 });
    expect(remember.inputSchema.required).toEqual(['text']);

    const ns = await server.api.get(`/v1/namespaces/${namespace}`);
    expect(ns.body).toMatchObject({ embedder: 'hash-64', count: 1 });
  });

  it('a scope keeps each user to their own memories', async () => {
    const namespace = fresh('ai-scope');
    const ann = membankTools({ url: server.url, namespace, scope: { user: 'ann' } });
    const bob = membankTools({ url: server.url, namespace, scope: { user: 'bob' } });
    const { id } = (await ann.remember.execute!({ text: 'my locker code is 4321' }, { toolCallId: 'a', messages: [] })) as { id: string };
    expect((await server.api.get(`/v1/namespaces/${namespace}/memories/${id}`)).body.metadata).toEqual({ user: 'ann' });

    const seen = await generateText({
      model: scriptedModel([
        { toolName: 'recall', input: { query: 'locker code' } },
        { toolName: 'getContext', input: { query: 'locker code' } },
        { toolName: 'forget', input: { ids: [id] } },
        { toolName: 'forget', input: { filter: { user: 'ann' } } },
      ]),
      tools: bob,
      stopWhen: stepCountIs(6),
      prompt: 'What is the locker code?',
    });
    const outputs = seen.steps.flatMap((s) => s.toolResults).map((r) => r.output as any);
    expect(outputs[0].results).toEqual([]);
    expect(outputs[1].context).toBe('');
    expect(outputs[2]).toEqual({ deleted: 0, missing: [id] });
    expect(outputs[3]).toEqual({ deleted: 0, missing: [] });
    const mine = (await ann.recall.execute!({ query: 'locker code' }, { toolCallId: 'b', messages: [] })) as { results: { id: string }[] };
    expect(mine.results.map((r) => r.id)).toEqual([id]);
  });

  it('membank\'s errors come back as tool errors carrying the code', async () => {
    const tools = membankTools({ url: server.url, namespace: fresh('ai-errors') });
    const result = await generateText({
      model: scriptedModel([{ toolName: 'recall', input: { query: 'x', filter: { 'bad field!': 1 } } }]),
      tools,
      stopWhen: stepCountIs(3),
      prompt: 'recall',
    });
    const errors = result.steps.flatMap((s) => s.content).filter((part) => part.type === 'tool-error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ toolName: 'recall', error: { name: 'MembankError', code: 'VALIDATION_FAILED', status: 400 } });

    await expect(tools.recall.execute!({ query: 'x', filter: { 'bad field!': 1 } }, { toolCallId: 'c', messages: [] })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    const missing = membankTools({ url: server.url, namespace: fresh('ai-missing'), create: false });
    await expect(missing.remember.execute!({ text: 'x' }, { toolCallId: 'd', messages: [] })).rejects.toMatchObject({ code: 'NAMESPACE_NOT_FOUND', status: 404 });
  });

  it('input the schemas refuse never reaches membank', async () => {
    const tools = membankTools({ url: server.url, namespace: fresh('ai-invalid') });
    const result = await generateText({
      model: scriptedModel([{ toolName: 'remember', input: { text: 'x', importance: 7 } }]),
      tools,
      stopWhen: stepCountIs(3),
      prompt: 'remember',
    });
    const errors = result.steps.flatMap((s) => s.content).filter((part) => part.type === 'tool-error');
    expect(errors).toHaveLength(1);
    expect(String((errors[0] as { error: unknown }).error)).toMatch(/importance|less than or equal/i);
  });
});
