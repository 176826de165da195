/**
 * Prompt context from retrieved memories and facts: one line each, with time and source, deduplicated, fitted
 * to a token budget. Pure: the caller brings the token counter.
 */
import type { FactRecord, MemoryRecord } from './types.js';

export interface ContextMemory {
  memory: MemoryRecord;
  score: number;
}

export interface ContextOptions {
  maxTokens: number;
  /** Memory lines by event time (a conversation reads in order) or by score. */
  order: 'time' | 'score';
  countTokens: (text: string) => number;
  /** Pinned memories, always first, within `pinnedShare` of `maxTokens`. */
  pinned?: ContextMemory[];
  /** Share of the budget pinned memories may take (default 0.3). */
  pinnedShare?: number;
}

export interface Context {
  text: string;
  tokens: number;
  /** Pinned memories first (in the order given), then the query's. */
  memories: ContextMemory[];
  facts: FactRecord[];
}

const minute = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');

/** Where a memory came from: its `source` metadata, else its document chunk, else its id. */
export function sourceOf(memory: MemoryRecord): string {
  const source = memory.metadata.source;
  if (typeof source === 'string' && source.length > 0) return source;
  if (memory.documentId !== null) return `${memory.documentId}#${memory.chunkIndex}`;
  return memory.id;
}

/** `[2023-05-08 13:56] Caroline: text (source: D1:3)`; the speaker (or role) from metadata when there is one. */
export function memoryLine(memory: MemoryRecord): string {
  const who = [memory.metadata.speaker, memory.metadata.role].find((v): v is string => typeof v === 'string' && v.length > 0);
  const text = (memory.text ?? '').replace(/\s+/g, ' ').trim();
  return `- [${minute(memory.timestamp)}] ${who ? `${who}: ` : ''}${text} (source: ${sourceOf(memory)})`;
}

export function factLine(fact: FactRecord): string {
  const since = fact.validFrom === null ? '' : ` (since ${minute(fact.validFrom).slice(0, 10)})`;
  return `- ${fact.subject} ${fact.predicate.replaceAll('_', ' ')} ${fact.object}${since}`;
}

const normalized = (text: string | null): string => (text ?? '').replace(/\s+/g, ' ').trim().toLowerCase();

/**
 * Pinned memories first, as long as they fit in `pinnedShare` of the budget (as Letta's core memory is always
 * in context), then facts (compact and current), then memories, each in the order given (best first), skipping
 * what repeats an earlier line and what no longer fits; memory lines are then put in time order when asked. Lines
 * are counted one by one (plus one token for each line break), then the final text is counted exactly and
 * trimmed from the least relevant end if the joins cost more: the count returned is of the final text and
 * never exceeds the budget.
 */
export function buildContext(facts: FactRecord[], memories: ContextMemory[], options: ContextOptions): Context {
  const cost = (line: string): number => options.countTokens(line) + 1;
  let used = 0;
  const take = (line: string): boolean => {
    const c = cost(line);
    if (used + c > options.maxTokens) return false;
    used += c;
    return true;
  };

  const seenIds = new Set<string>();
  const seenTexts = new Set<string>();
  const chosenPinned: ContextMemory[] = [];
  const pinnedBudget = Math.floor(options.maxTokens * (options.pinnedShare ?? DEFAULT_PINNED_SHARE));
  const pinnedHeader = cost(PINNED_HEADER);
  for (const candidate of options.pinned ?? []) {
    const text = normalized(candidate.memory.text);
    if (text.length === 0 || seenIds.has(candidate.memory.id) || seenTexts.has(text)) continue;
    const c = cost(memoryLine(candidate.memory)) + (chosenPinned.length === 0 ? pinnedHeader : 0);
    if (used + c > pinnedBudget) continue;
    used += c;
    chosenPinned.push(candidate);
    seenIds.add(candidate.memory.id);
    seenTexts.add(text);
  }

  const chosenFacts: FactRecord[] = [];
  const factHeader = cost(FACTS_HEADER);
  const seenFacts = new Set<string>();
  for (const fact of facts) {
    const line = factLine(fact);
    if (seenFacts.has(line.toLowerCase())) continue;
    if (chosenFacts.length === 0) {
      if (used + factHeader + cost(line) > options.maxTokens) continue;
      used += factHeader;
    }
    if (take(line)) {
      chosenFacts.push(fact);
      seenFacts.add(line.toLowerCase());
    } else if (chosenFacts.length === 0) {
      used -= factHeader;
    }
  }

  const chosenMemories: ContextMemory[] = [];
  const memoryHeader = cost(MEMORIES_HEADER);
  for (const candidate of memories) {
    const text = normalized(candidate.memory.text);
    if (text.length === 0 || seenIds.has(candidate.memory.id) || seenTexts.has(text)) continue;
    const line = memoryLine(candidate.memory);
    if (chosenMemories.length === 0) {
      if (used + memoryHeader + cost(line) > options.maxTokens) continue;
      used += memoryHeader;
    }
    if (take(line)) {
      chosenMemories.push(candidate);
      seenIds.add(candidate.memory.id);
      seenTexts.add(text);
    } else if (chosenMemories.length === 0) {
      used -= memoryHeader;
    }
  }

  const render = (): string => {
    const lines: string[] = [];
    if (chosenPinned.length > 0) lines.push(PINNED_HEADER, ...chosenPinned.map((m) => memoryLine(m.memory)));
    if (chosenFacts.length > 0) lines.push(FACTS_HEADER, ...chosenFacts.map(factLine));
    if (chosenMemories.length > 0) lines.push(MEMORIES_HEADER, ...inOrder(chosenMemories, options.order).map((m) => memoryLine(m.memory)));
    return lines.join('\n');
  };
  let text = render();
  let tokens = options.countTokens(text);
  while (tokens > options.maxTokens && chosenMemories.length + chosenFacts.length + chosenPinned.length > 0) {
    if (chosenMemories.length > 0) chosenMemories.pop();
    else if (chosenFacts.length > 0) chosenFacts.pop();
    else chosenPinned.pop();
    text = render();
    tokens = options.countTokens(text);
  }
  return { text, tokens, memories: [...chosenPinned, ...inOrder(chosenMemories, options.order)], facts: chosenFacts };
}

export const DEFAULT_PINNED_SHARE = 0.3;
const PINNED_HEADER = 'Pinned memories:';
const FACTS_HEADER = 'Known facts:';
const MEMORIES_HEADER = 'Relevant memories:';

const inOrder = (memories: ContextMemory[], order: ContextOptions['order']): ContextMemory[] =>
  order === 'time'
    ? [...memories].sort((a, b) => a.memory.timestamp - b.memory.timestamp || a.memory.label - b.memory.label)
    : memories;
