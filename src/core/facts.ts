/**
 * Triple-style facts ⟨subject, predicate, object⟩ (Ret-LLM): normalization for matching, the sentence a fact is
 * embedded as, and the parser of the MEM_WRITE / MEM_READ commands that a model prompted with Ret-LLM's
 * protocol writes into its output.
 */

/** The key facts are matched on: Unicode-normalized, case-folded, whitespace collapsed. */
export function normalizeKey(text: string): string {
  return text.normalize('NFKC').toLocaleLowerCase('en-US').replace(/\s+/gu, ' ').trim();
}

/** The sentence a fact is embedded as: `subject predicate object`, with underscores read as spaces. */
export function factSentence(subject: string, predicate: string, object: string): string {
  return [subject, predicate, object].map((part) => part.replace(/_+/g, ' ').trim()).join(' ');
}

export type FactCommand =
  | { command: string; kind: 'write'; subject: string; predicate: string; object: string }
  | { command: string; kind: 'read'; subject?: string; predicate?: string; object?: string }
  | { command: string; kind: 'invalid'; error: string };

/** `[MEM_WRITE{A»R»B}]` or `[MEM_READ{A»R»}]`; `>>` may stand for `»`. */
const COMMAND = /\[MEM_(WRITE|READ)\{([^{}\]]*)\}\]/gu;
const SEPARATOR = /»|>>/u;

/** Every command in a model's output, in order; malformed ones are reported, never thrown. */
export function parseFactCommands(text: string): FactCommand[] {
  const commands: FactCommand[] = [];
  for (const match of text.matchAll(COMMAND)) {
    const [command, verb, body] = match as unknown as [string, 'WRITE' | 'READ', string];
    const parts = body!.split(SEPARATOR).map((part) => part.trim());
    if (parts.length !== 3) {
      commands.push({ command, kind: 'invalid', error: `expected three fields separated by » (or >>), got ${parts.length}` });
      continue;
    }
    const [subject, predicate, object] = parts as [string, string, string];
    if (verb === 'WRITE') {
      if (!subject || !predicate || !object) {
        commands.push({ command, kind: 'invalid', error: 'MEM_WRITE needs a subject, a relation and an object' });
      } else {
        commands.push({ command, kind: 'write', subject, predicate, object });
      }
    } else if (!subject && !predicate && !object) {
      commands.push({ command, kind: 'invalid', error: 'MEM_READ needs at least one of subject, relation, object' });
    } else {
      commands.push({
        command,
        kind: 'read',
        ...(subject && { subject }),
        ...(predicate && { predicate }),
        ...(object && { object }),
      });
    }
  }
  return commands;
}
