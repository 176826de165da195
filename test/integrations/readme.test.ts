/**
 * The README's framework examples run as written against a real membank: each TypeScript block of the
 * "Framework integrations" section is written to a file inside the package (so `membank/…` resolves as for a
 * user) with only the service URL changed, imported, and what it prints is checked. The AI SDK example's model
 * provider (`@ai-sdk/openai`, which would call OpenAI) is the one thing replaced: by the AI SDK's mock model,
 * scripted to call remember and then recall.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { type Running, startMembank } from '../helpers.js';

const README = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
const section = README.slice(README.indexOf('### Framework integrations'), README.indexOf('### CLI'));
const blocks = [...section.matchAll(/^#### (.+)\n[\s\S]*?```ts\n([\s\S]*?)```/gm)].map((m) => ({ title: m[1]!, code: m[2]! }));

const MOCK_OPENAI = `
import { MockLanguageModelV3 } from 'ai/test';
const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined }, outputTokens: { total: 1, text: 1, reasoning: undefined } };
const calls = [
  { toolName: 'remember', input: { text: 'My puppy is called Rex' } },
  { toolName: 'recall', input: { query: 'puppy' } },
];
export const openai = (_model: string) => {
  let step = 0;
  return new MockLanguageModelV3({
    doGenerate: async (options) => {
      const call = calls[step++];
      if (call) return { content: [{ type: 'tool-call', toolCallId: 'c' + step, toolName: call.toolName, input: JSON.stringify(call.input) }], finishReason: { unified: 'tool-calls', raw: undefined }, usage, warnings: [] };
      const shown = options.prompt.filter((m) => m.role === 'tool').flatMap((m) => m.content).map((p) => JSON.stringify((p as { output: unknown }).output));
      return { content: [{ type: 'text', text: shown.join(' ') }], finishReason: { unified: 'stop', raw: undefined }, usage, warnings: [] };
    },
  });
};
`;

/** What each example must print: the results it asked for. */
const EXPECTED: Record<string, RegExp[]> = {
  'LangChain.js': [/Rex is a golden retriever puppy/, /quarterly report is due on Friday/, /\(source: /],
  LangGraph: [/I adopted a puppy named Rex/],
  'Vercel AI SDK': [/My puppy is called Rex/],
  'LlamaIndex.TS': [/Ann prefers green tea over coffee/, /"role":"memory".*I adopted a puppy named Rex/],
};

let server: Running;
let dir: string;
beforeAll(async () => {
  server = await startMembank();
  dir = mkdtempSync(join(import.meta.dirname, '.readme-'));
  writeFileSync(join(dir, 'mock-openai.ts'), MOCK_OPENAI);
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await server.close();
});

it('the section has one example per framework', () => {
  expect(blocks.map((b) => b.title)).toEqual(Object.keys(EXPECTED));
});

it.each(blocks.map((b) => [b.title, b.code] as const))('the %s example runs as written', async (title, code) => {
  const file = join(dir, `${title.replace(/\W+/g, '-')}.ts`);
  writeFileSync(file, code.replaceAll('http://127.0.0.1:8420', server.url).replace("from '@ai-sdk/openai'", "from './mock-openai.ts'"));
  const printed: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    printed.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
  });
  try {
    await import(pathToFileURL(file).href);
  } finally {
    log.mockRestore();
  }
  const output = printed.join('\n');
  for (const pattern of EXPECTED[title]!) expect(output, title).toMatch(pattern);
});
