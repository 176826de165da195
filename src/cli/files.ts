/**
 * Turns the ingest command's arguments (files, directories, globs) into files, and files into memories or
 * documents. A glob is expanded here (Node 20 has no fs.glob) with `*`, `?` and `**`, so quoted globs work too.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { extname, join, relative, resolve, sep } from 'node:path';
import type { MemoryRequest } from '../client/types.js';

export const INGEST_EXTENSIONS = ['.txt', '.md', '.json', '.jsonl'];

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => !entry.name.startsWith('.') && entry.name !== 'node_modules')
    .flatMap((entry) => (entry.isDirectory() ? walk(join(dir, entry.name)) : entry.isFile() ? [join(dir, entry.name)] : []));
}

export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      out += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/** Files named by the arguments, of the supported kinds, each once, in a stable order. */
export function expandInputs(inputs: string[], cwd = process.cwd()): { files: string[]; unmatched: string[] } {
  const files = new Set<string>();
  const unmatched: string[] = [];
  for (const input of inputs) {
    const absolute = resolve(cwd, input);
    let found: string[];
    if (/[*?]/.test(input)) {
      const parts = input.split('/');
      const firstWild = parts.findIndex((p) => /[*?]/.test(p));
      const base = resolve(cwd, parts.slice(0, firstWild).join('/') || '.');
      const pattern = globToRegExp(parts.slice(firstWild).join('/'));
      found = existsSync(base) ? walk(base).filter((f) => pattern.test(relative(base, f).split(sep).join('/'))) : [];
    } else if (existsSync(absolute) && statSync(absolute).isDirectory()) {
      found = walk(absolute);
    } else {
      found = existsSync(absolute) ? [absolute] : [];
    }
    const supported = found.filter((f) => INGEST_EXTENSIONS.includes(extname(f).toLowerCase()));
    if (supported.length === 0) unmatched.push(input);
    for (const f of supported) files.add(f);
  }
  return { files: [...files].sort(), unmatched };
}

export const contentHash = (content: string) => createHash('sha256').update(content).digest('hex');

/** A stable id per file, from its path relative to where ingest runs. */
export function fileId(relativePath: string): string {
  const posix = relativePath.split(sep).join('/');
  return posix.length <= 200 ? `file:${posix}` : `file:${contentHash(posix).slice(0, 40)}`;
}

const MEMORY_KEYS = new Set(['id', 'text', 'metadata', 'timestamp', 'vector']);

/**
 * The memories of a .json or .jsonl file. An item is a string, or an object with `text` (or `content`) and
 * optional id, metadata, timestamp, vector; its other fields join its metadata. Items without an id get
 * `<file id>:<position>`, so re-ingesting a file replaces its memories instead of duplicating them.
 */
export function memoriesFromJson(content: string, kind: '.json' | '.jsonl', id: string, extra: Record<string, string>): MemoryRequest[] {
  let items: unknown[];
  if (kind === '.jsonl') {
    items = content.split('\n').flatMap((line, i) => {
      if (line.trim() === '') return [];
      try {
        return [JSON.parse(line)];
      } catch {
        throw new Error(`line ${i + 1} is not JSON`);
      }
    });
  } else {
    const value: unknown = JSON.parse(content);
    items = Array.isArray(value) ? value : value && typeof value === 'object' && Array.isArray((value as { memories?: unknown }).memories) ? (value as { memories: unknown[] }).memories : [value];
  }
  return items.map((item, i) => {
    if (typeof item === 'string') return { id: `${id}:${i}`, text: item, metadata: { ...extra } };
    if (!item || typeof item !== 'object' || Array.isArray(item)) throw new Error(`item ${i + 1} is neither a text nor an object`);
    const record = item as Record<string, unknown>;
    const text = record.text ?? record.content;
    const rest = Object.fromEntries(Object.entries(record).filter(([k]) => !MEMORY_KEYS.has(k) && k !== 'content'));
    const memory: MemoryRequest = {
      id: typeof record.id === 'string' ? record.id : `${id}:${i}`,
      metadata: { ...(record.metadata as Record<string, never> | undefined), ...(rest as Record<string, never>), ...extra },
    };
    if (text !== undefined) memory.text = String(text);
    if (record.timestamp !== undefined) memory.timestamp = record.timestamp as string | number;
    if (record.vector !== undefined) memory.vector = record.vector as number[];
    return memory;
  });
}

/**
 * A file's lines, read in 1 MiB chunks, synchronously: import writes them inside one SQLite transaction (which
 * cannot await), and an export of many vectors can be larger than is sensible to hold in memory at once.
 */
export function* readLinesSync(file: string): Generator<string> {
  const fd = openSync(file, 'r');
  const buffer = Buffer.alloc(1 << 20);
  const decoder = new TextDecoder('utf-8');
  let carry = '';
  try {
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      carry += decoder.decode(buffer.subarray(0, n), { stream: n > 0 });
      const lines = carry.split('\n');
      carry = n > 0 ? lines.pop()! : '';
      yield* lines;
      if (n === 0) break;
    }
  } finally {
    closeSync(fd);
  }
}
