/** How membank's answers become LangChain documents, shared by the vector store and the retriever. */
import { Document } from '@langchain/core/documents';
import type { Context, QueryResult } from '../../client/index.js';

export type SearchMode = 'vector' | 'keyword' | 'hybrid';

/** A memory as a document: its text, its metadata as stored, and its id. */
export function hitToDocument(hit: QueryResult): Document {
  return new Document({ pageContent: hit.text ?? '', metadata: hit.metadata ?? {}, id: hit.id });
}

/** A context answer as one document: the text to prepend to a prompt, with what it was built from. */
export function contextToDocuments(context: Context): Document[] {
  if (context.context.length === 0) return [];
  return [
    new Document({
      pageContent: context.context,
      metadata: { tokens: context.tokens, memories: context.memories.map((m) => m.id), facts: context.facts.map((f) => f.id) },
    }),
  ];
}
