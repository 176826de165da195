/**
 * Facts beside memories (Ret-LLM's triple memory, with Zep-style history): pattern reads, revision over time,
 * semantic search over fact sentences, an entity's neighbourhood, and Ret-LLM's text commands. Facts live in
 * SQLite; their sentences are embedded into a hidden namespace of the memory service, so their index has the
 * same durability as memories'.
 */
import { randomUUID } from 'node:crypto';
import { MembankError } from '../core/errors.js';
import { factSentence, normalizeKey, parseFactCommands } from '../core/facts.js';
import type { FilterNode } from '../core/filter.js';
import type { FactPattern, FactRecord, Metadata } from '../core/types.js';
import type { FactQuery } from '../ports/fact-store.js';
import type { Store } from '../ports/store.js';
import type { MemoryService } from './memory-service.js';

export interface FactInput {
  subject: string;
  predicate: string;
  object: string;
  confidence?: number;
  source?: string;
  validFrom?: number;
  validTo?: number;
  metadata?: Metadata;
  /** `replace` closes the active facts with this subject and predicate; `add` (default unless the predicate is declared single-valued) accumulates. */
  mode?: 'replace' | 'add';
}

export interface ScoredFact extends FactRecord {
  score: number;
}

export type CommandResult =
  | { command: string; ok: true; id: string }
  | { command: string; ok: true; facts: FactRecord[] }
  | { command: string; ok: false; error: string };

export function createFactService({ store, memories }: { store: Store; memories: MemoryService }) {
  const facts = store.facts;

  /**
   * Makes sure the fact's sentence is in the hidden index: for a new fact, and for a re-sighted one whose
   * sentence a crash between the two writes left out.
   */
  async function indexSentence(
    namespace: string,
    fact: { id: string; subject: string; predicate: string; object: string; metadata: Metadata },
    created: boolean,
  ) {
    const hidden = await memories.factIndex(namespace);
    if (hidden === null) return;
    if (!created && (await memories.hasMemory(hidden, fact.id))) return;
    await memories.writeMemories(hidden, [
      { id: fact.id, text: factSentence(fact.subject, fact.predicate, fact.object), metadata: fact.metadata },
    ]);
  }

  /** Writes facts in order; `seq` is the namespace's change sequence after the last. */
  async function write(namespace: string, inputs: FactInput[]): Promise<{ ids: string[]; seq: number }> {
    const record = await memories.namespace(namespace);
    const singleValued = new Set(record.settings.facts.singleValued);
    const ids: string[] = [];
    let seq = 0;
    for (const input of inputs) {
      const outcome = await facts.write(
        record.id,
        {
          subject: input.subject,
          predicate: input.predicate,
          object: input.object,
          confidence: input.confidence ?? null,
          source: input.source ?? null,
          validFrom: input.validFrom ?? null,
          validTo: input.validTo ?? null,
          metadata: input.metadata ?? {},
          replace: input.mode === 'replace' || (input.mode !== 'add' && singleValued.has(normalizeKey(input.predicate))),
        },
        randomUUID(),
      );
      const [fact] = await facts.byIds(record.id, [outcome.id]);
      if (fact) await indexSentence(namespace, fact, outcome.created);
      ids.push(outcome.id);
      seq = Math.max(seq, outcome.seq);
    }
    return { ids, seq };
  }

  async function read(namespace: string, query: FactQuery): Promise<FactRecord[]> {
    return facts.query((await memories.namespace(namespace)).id, query);
  }

  async function search(namespace: string, input: { query: string; k: number; filter?: FilterNode; history?: boolean }): Promise<ScoredFact[]> {
    const record = await memories.namespace(namespace);
    const hidden = await memories.factIndex(namespace);
    if (hidden === null) {
      throw new MembankError('NO_EMBEDDER', `Namespace "${namespace}" has no embedder, so facts cannot be searched by meaning.`);
    }
    // Superseded facts stay indexed (they are history); fetch more and keep the current ones.
    const hits = await memories.query(hidden, {
      query: input.query,
      mode: 'vector',
      reinforce: false,
      k: Math.min(1000, input.k * 4),
      filter: input.filter,
      include: [],
    });
    const byId = new Map((await facts.byIds(record.id, hits.map((h) => h.memory.id))).map((f) => [f.id, f]));
    const results: ScoredFact[] = [];
    for (const hit of hits) {
      const fact = byId.get(hit.memory.id);
      if (fact && (input.history || fact.invalidatedAt === null)) results.push({ ...fact, score: hit.score });
      if (results.length === input.k) break;
    }
    return results;
  }

  async function remove(namespace: string, ids: string[]): Promise<{ deleted: number; seq: number }> {
    const record = await memories.namespace(namespace);
    const deleted = await facts.delete(record.id, ids);
    const hidden = await memories.factIndex(namespace);
    if (hidden !== null) {
      for (const id of ids) {
        await memories.deleteMemory(hidden, id).catch((error: unknown) => {
          if (!(error instanceof MembankError && error.code === 'MEMORY_NOT_FOUND')) throw error;
        });
      }
    }
    return deleted;
  }

  return {
    write,
    read,
    search,

    /** Answers the namespace's change sequence after the delete. */
    async deleteOne(namespace: string, id: string): Promise<number> {
      const { deleted, seq } = await remove(namespace, [id]);
      if (deleted === 0) throw new MembankError('FACT_NOT_FOUND', `No fact "${id}" in namespace "${namespace}".`);
      return seq;
    },

    /** Deletes every fact, current or past, that matches the pattern. */
    async deleteMatching(namespace: string, pattern: FactPattern): Promise<{ deleted: number; seq: number }> {
      const matching = await read(namespace, { ...pattern, history: true, limit: Number.MAX_SAFE_INTEGER });
      return remove(namespace, matching.map((f) => f.id));
    },

    /** The entity's neighbourhood: current facts in and out, `depth` hops away. */
    async entity(namespace: string, name: string, depth: number): Promise<{ nodes: { name: string }[]; edges: FactRecord[] }> {
      const record = await memories.namespace(namespace);
      const nodes = new Map<string, string>([[normalizeKey(name), name]]);
      const edges = new Map<string, FactRecord>();
      let frontier = [name];
      for (let hop = 0; hop < depth && frontier.length > 0; hop++) {
        const next: string[] = [];
        for (const fact of await facts.touching(record.id, frontier)) {
          edges.set(fact.id, fact);
          for (const end of [fact.subject, fact.object]) {
            const key = normalizeKey(end);
            if (!nodes.has(key)) {
              nodes.set(key, end);
              next.push(end);
            }
          }
        }
        frontier = next;
      }
      return { nodes: [...nodes.values()].map((n) => ({ name: n })), edges: [...edges.values()] };
    },

    /** Runs the MEM_WRITE / MEM_READ commands found in a model's output, in order. */
    async commands(namespace: string, text: string): Promise<CommandResult[]> {
      const results: CommandResult[] = [];
      for (const command of parseFactCommands(text)) {
        if (command.kind === 'invalid') {
          results.push({ command: command.command, ok: false, error: command.error });
        } else if (command.kind === 'write') {
          const [id] = (await write(namespace, [command])).ids;
          results.push({ command: command.command, ok: true, id: id! });
        } else {
          const { command: text_, kind: _kind, ...pattern } = command;
          results.push({ command: text_, ok: true, facts: await read(namespace, { ...pattern, limit: 100 }) });
        }
      }
      return results;
    },
  };
}

export type FactService = ReturnType<typeof createFactService>;
