/**
 * `membank/ai-sdk`: membank as tools for the Vercel AI SDK (`ai`, an optional peer dependency of membank).
 *
 * @example
 * const result = await generateText({
 *   model,
 *   tools: membankTools({ url: 'http://127.0.0.1:8420', namespace: 'assistant', scope: { user: 'ann' } }),
 *   stopWhen: stepCountIs(5),
 *   prompt: 'Remember that I adopted a puppy named Rex.',
 * });
 */
export { membankTools, type MembankToolsOptions } from './tools.js';
