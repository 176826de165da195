/** The `membank` bin as a user runs it (a child process through src/cli/membank.mjs) against real services. */
import { execFile, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MembankClient } from '../src/client/index.js';
import { exited, startMembank, tempDir, type Running } from './helpers.js';

const BIN = join(import.meta.dirname, '..', 'src', 'cli', 'membank.mjs');

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function membank(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Outcome> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], {
      cwd: options.cwd,
      env: { ...process.env, MEMBANK_URL: '', MEMBANK_DATA_DIR: '', ...options.env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let running: Running;
let url: string;
let client: MembankClient;

beforeAll(async () => {
  running = await startMembank();
  url = running.url;
  client = new MembankClient({ url });
});
afterAll(() => running.close());

describe('membank CLI', () => {
  it('has help for every command, and one-line errors with exit codes', async () => {
    const help = await membank(['--help']);
    expect(help.code).toBe(0);
    const commands = [...help.stdout.matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((m) => m[1]!);
    expect(commands).toEqual(expect.arrayContaining(['serve', 'mcp', 'ingest', 'query', 'facts', 'forget', 'stats', 'export', 'import', 'backup', 'restore']));
    // Each call starts a process: run them side by side, as a loaded machine would take minutes in turn.
    const helps = commands.filter((c) => c !== 'serve');
    const answers = await Promise.all(helps.map((command) => membank([command, '--help'])));
    helps.forEach((command, i) => {
      expect(answers[i]!.code, command).toBe(0);
      expect(answers[i]!.stdout, command).toContain(`Usage: membank ${command}`);
    });

    const unknown = await membank(['query', '--nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    const missing = await membank(['query', 'x', '-n', 'absent', '--url', url]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toMatch(/^membank query: NAMESPACE_NOT_FOUND: /);
    const offline = await membank(['stats', '--url', 'http://127.0.0.1:1']);
    expect(offline.code).toBe(1);
    expect(offline.stderr.trim()).toMatch(/^membank stats: NETWORK_ERROR: .*\n?$/);
    const badFilter = await membank(['query', 'x', '--filter', '{oops', '--url', url]);
    expect(badFilter.code).toBe(2);
  }, 180_000);

  it('ingests files, directories and globs, resumably by content hash', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'notes', 'deep'), { recursive: true });
    writeFileSync(join(dir, 'notes', 'a.txt'), 'Ann adopted a puppy named Rex.');
    writeFileSync(join(dir, 'notes', 'deep', 'b.md'), '# Plans\n\nThe quarterly report is due on Friday.');
    writeFileSync(join(dir, 'notes', 'skip.csv'), 'not,supported');
    writeFileSync(join(dir, 'c.json'), JSON.stringify([{ text: 'Bob likes tea', user: 'bob' }, 'a plain string memory']));
    writeFileSync(join(dir, 'd.jsonl'), ['{"text":"line one","metadata":{"n":1}}', '{"content":"line two","id":"custom-2"}', '"line three"'].join('\n'));

    const args = ['ingest', 'notes', '*.json', 'd.jsonl', '-n', 'ing', '--url', url, '--batch', '2'];
    const first = await membank(args, { cwd: dir });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^Ingested 7 items from 4 files into "ing" .*; 0 skipped/);
    expect((await client.getNamespace('ing')).count).toBe(7);
    const bob = (await client.query('ing', { query: 'tea', k: 1, filter: { user: 'bob' } }))[0]!;
    expect(bob).toMatchObject({ id: 'file:c.json:0', text: 'Bob likes tea' });
    expect((await client.getMemory('ing', 'custom-2')).text).toBe('line two');
    expect((await client.getMemory('ing', 'file:notes/deep/b.md#0')).metadata).toMatchObject({ source: 'notes/deep/b.md' });

    const again = await membank(args, { cwd: dir });
    expect(again.stdout).toMatch(/^Ingested 0 items from 0 files .*; 4 skipped/);

    // A changed file is ingested again; so is a file whose ingest was cut short (its last memory missing).
    appendFileSync(join(dir, 'notes', 'a.txt'), ' He is a beagle.');
    await client.deleteMemory('ing', 'file:d.jsonl:2');
    const resumed = await membank(args, { cwd: dir });
    expect(resumed.stdout).toMatch(/^Ingested 4 items from 2 files .*; 2 skipped/);
    expect((await client.getMemory('ing', 'file:notes/a.txt#0')).text).toContain('beagle');
    expect((await client.getNamespace('ing')).count).toBe(7);

    const nothing = await membank(['ingest', 'notes/skip.csv', '--url', url], { cwd: dir });
    expect(nothing.code).toBe(1);
    const broken = join(dir, 'broken');
    mkdirSync(broken);
    writeFileSync(join(broken, 'x.jsonl'), '{"text":"ok"}\n{not json');
    const bad = await membank(['ingest', 'broken', '--url', url], { cwd: dir });
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe('membank ingest: broken/x.jsonl: line 2 is not JSON');
  });

  it('queries, reads and writes facts, forgets, and reports stats', async () => {
    const env = { MEMBANK_URL: url };
    await client.createNamespace({ name: 'cli' });
    await client.writeMemories('cli', [
      { id: 'm1', text: 'the cat sat on the mat', metadata: { user: 'ann' } },
      { id: 'm2', text: 'dogs chase cats', metadata: { user: 'bob' } },
      { id: 'm3', text: 'birds sing at dawn', metadata: { user: 'bob' } },
    ]);
    const q = await membank(['query', 'the', 'cat', 'sat', '-n', 'cli', '-k', '1', '--json'], { env });
    expect(JSON.parse(q.stdout)[0].id).toBe('m1');
    const human = await membank(['query', 'cat on the mat', '-n', 'cli', '-k', '2'], { env });
    expect(human.stdout).toContain('1. the cat sat on the mat');

    expect((await membank(['facts', 'add', 'Ann', 'lives_in', 'Paris', '-n', 'cli'], { env })).code).toBe(0);
    await membank(['facts', 'add', 'Ann', 'lives_in', 'Rome', '--replace', '-n', 'cli'], { env });
    const current = JSON.parse((await membank(['facts', '--subject', 'Ann', '-n', 'cli', '--json'], { env })).stdout);
    expect(current.map((f: any) => f.object)).toEqual(['Rome']);
    const history = JSON.parse((await membank(['facts', '--subject', 'Ann', '--history', '-n', 'cli', '--json'], { env })).stdout);
    expect(history).toHaveLength(2);
    expect((await membank(['facts', 'search', 'where', 'Ann', 'lives', '-n', 'cli'], { env })).stdout).toContain('Ann · lives_in · Rome');

    const byFilter = await membank(['forget', '--filter', '{"user":"bob"}', '-n', 'cli'], { env });
    expect(byFilter.stdout.trim()).toBe('Forgot 2 memories.');
    const byId = await membank(['forget', 'm1', 'nope', '-n', 'cli'], { env });
    expect(byId.stdout.trim()).toBe('Forgot 1 memory; not found: nope.');
    expect((await client.getNamespace('cli')).count).toBe(0);

    const stats = JSON.parse((await membank(['stats', '-n', 'cli', '--json'], { env })).stdout);
    expect(stats.namespaces[0]).toMatchObject({ name: 'cli', count: 0, factCount: 2 });
    expect((await membank(['stats'], { env })).stdout).toMatch(/cli: 0 memories, 2 facts/);
  });

  it('serves with the server\'s own options, and stops on SIGTERM', async () => {
    const dataDir = tempDir();
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--data-dir', dataDir, '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const ready = await new Promise<string>((resolve, reject) => {
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /membank ready on (http:\/\/[\d.:]+)/.exec(output);
        if (match) resolve(match[1]!);
      });
      child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${output}`)));
    });
    const stats = await membank(['stats', '--url', ready]);
    expect(stats.stdout).toMatch(/: ok, 0 namespaces/);
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    const bad = await membank(['serve', '--port', 'x']);
    expect(bad.code).toBe(2);
  });

  it('gives a prompt context, and runs forgetting policies with a dry run first', async () => {
    const env = { MEMBANK_URL: url };
    await client.createNamespace({ name: 'cli-forget' });
    await client.writeMemories('cli-forget', [
      { id: 'tea', text: 'Ann drinks green tea every morning', metadata: { speaker: 'Ann' } },
      { id: 'old', text: 'Ann parked on level 3', expiresAt: '2020-01-01T00:00:00Z' },
    ]);
    const context = await membank(['context', 'what', 'does', 'Ann', 'drink', '-n', 'cli-forget', '--max-tokens', '60'], { env });
    expect(context.code).toBe(0);
    expect(context.stdout).toMatch(/^Relevant memories:\n- \[\d{4}-\d\d-\d\d \d\d:\d\d\] Ann: Ann drinks green tea every morning \(source: tea\)$/m);
    expect(context.stdout).not.toContain('level 3');

    const dry = await membank(['forget', '--expired', '--dry-run', '-n', 'cli-forget'], { env });
    expect(dry.stdout).toBe('old\texpired\nWould forget 1 expired and 0 other memories.\n');
    expect((await client.forget('cli-forget', { expired: true, dryRun: true })).expired).toBe(1);
    const real = await membank(['forget', '--expired', '-n', 'cli-forget'], { env });
    expect(real.stdout).toMatch(/^Forgot 1 expired and 0 other memories in \d+ ms\.$/m);
    expect((await client.getNamespace('cli-forget')).forgetting.runs[0]).toMatchObject({ trigger: 'manual', expired: 1 });
    expect((await membank(['forget', '--retention-below', 'x', '-n', 'cli-forget'], { env })).code).toBe(2);
  });

  it('creates, lists and revokes API keys on the data directory of a running service', async () => {
    const dataDir = tempDir();
    const secured = await startMembank(dataDir);
    try {
      await new MembankClient({ url: secured.url }).createNamespace({ name: 'team-a.notes' });
      const created = await membank(['keys', 'create', '--data-dir', dataDir, '--role', 'write', '--namespaces', 'team-a.*']);
      expect(created.code).toBe(0);
      const key = created.stdout.trim().split('\n').at(-1)!;
      expect(key).toMatch(/^mbk_[0-9a-f]{12}_/);

      const anonymous = await membank(['stats', '--url', secured.url]);
      expect(anonymous.code).toBe(1);
      expect(anonymous.stderr).toMatch(/UNAUTHORIZED/);
      const withKey = await membank(['stats', '--url', secured.url, '--api-key', key]);
      expect(withKey.code).toBe(0);
      expect(withKey.stdout).toMatch(/team-a\.notes: 0 memories/);

      const listed = await membank(['keys', 'list', '--data-dir', dataDir]);
      const [id, role, patterns] = listed.stdout.trim().split('\t');
      expect([role, patterns]).toEqual(['write', 'team-a.*']);
      expect(listed.stdout).not.toContain(key);

      expect((await membank(['keys', 'revoke', id!, '--data-dir', dataDir])).code).toBe(0);
      const revoked = await membank(['stats', '--url', secured.url, '--api-key', key]);
      expect(revoked.code).toBe(1);
      expect(revoked.stderr).toMatch(/UNAUTHORIZED/);
      expect((await membank(['keys', 'revoke', id!, '--data-dir', dataDir])).code).toBe(1);
      expect((await membank(['keys', 'create', '--data-dir', dataDir, '--role', 'root'])).code).toBe(2);
    } finally {
      await secured.close();
    }
  });
});

describe('export, import, backup, restore', () => {
  it('exports a running service losslessly and imports into another data directory', async () => {
    const dataDir = tempDir();
    const source = await startMembank(dataDir);
    const c = new MembankClient({ url: source.url });
    await c.createNamespace({ name: 'x', facts: { singleValued: ['lives_in'] } });
    await c.createNamespace({ name: 'v', embedder: null, dimensions: 3, space: 'l2' });
    await c.writeMemories('x', [
      { id: 'a', text: 'alpha memory', metadata: { tags: ['t'], n: 1.5 }, timestamp: '2020-02-02T00:00:00Z' },
      { id: 'b', text: 'beta memory' },
    ]);
    await c.writeDocuments('x', [{ id: 'doc', text: 'First part. Second part.' }]);
    await c.writeMemories('v', [{ id: 'p', vector: [0.1, 0.2, 0.30000001] }]);
    await c.writeFacts('x', [{ subject: 'Ann', predicate: 'lives_in', object: 'Paris', confidence: 0.5, validFrom: '2019-01-01' }]);
    await c.writeFacts('x', [{ subject: 'Ann', predicate: 'lives_in', object: 'Rome' }]);

    const file = join(tempDir(), 'export.jsonl');
    const exported = await membank(['export', '--out', file, '--data-dir', dataDir]);
    expect(exported.code).toBe(0);
    const before = {
      x: await c.listMemories('x', { vector: true }),
      v: await c.listMemories('v', { vector: true }),
      facts: await c.readFacts('x', { history: true }),
      ns: await c.listNamespaces(),
    };
    await source.close();

    const target = tempDir();
    const imported = await membank(['import', file, '--data-dir', target]);
    expect(imported.stdout).toContain('Imported 2 namespaces, 4 memories and 2 facts');
    const copy = await startMembank(target);
    const d = new MembankClient({ url: copy.url });
    expect(await d.listMemories('x', { vector: true })).toEqual(before.x);
    expect(await d.listMemories('v', { vector: true })).toEqual(before.v);
    expect(await d.readFacts('x', { history: true })).toEqual(before.facts);
    expect(await d.listNamespaces()).toEqual(before.ns);
    // The indexes were rebuilt from the imported vectors, and fact search found its hidden index.
    expect((await d.query('x', { query: 'alpha memory', k: 1 }))[0]!.id).toBe('a');
    expect((await d.searchFacts('x', { query: 'Ann lives in Rome', k: 1 }))[0]!.object).toBe('Rome');
    // Single-valued settings came along: a new city supersedes Rome.
    await d.writeFacts('x', [{ subject: 'Ann', predicate: 'lives_in', object: 'Oslo' }]);
    expect((await d.readFacts('x', { subject: 'Ann' })).map((f) => f.object)).toEqual(['Oslo']);

    // Importing the same namespaces again is refused, and changes nothing; so is importing beside a service.
    await copy.close();
    const twice = await membank(['import', file, '--data-dir', target]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('NAMESPACE_CONFLICT');
    const busyDir = tempDir();
    const busy = await startMembank(busyDir);
    const locked = await membank(['import', file, '--data-dir', busyDir]);
    await busy.close();
    expect(locked.code).toBe(1);
    expect(locked.stderr).toContain('DATA_DIR_LOCKED');
  });

  it('backs up while the service writes, and restores into an empty directory', async () => {
    const dataDir = tempDir();
    const live = await startMembank(dataDir);
    const c = new MembankClient({ url: live.url });
    // A graph above 50 vectors, so that the backup has an index file to copy (the facts' sentences stay exact).
    await c.createNamespace({ name: 'b', hnsw: { threshold: 50 } });
    await c.writeMemories('b', Array.from({ length: 200 }, (_, i) => ({ id: `m${i}`, text: `memory number ${i}`, metadata: { i }, importance: (i % 5) / 4 })));
    await c.writeFacts('b', [{ subject: 'Ann', predicate: 'lives_in', object: 'Oslo' }]);
    await c.writeFacts('b', [{ subject: 'Ann', predicate: 'lives_in', object: 'Rome', mode: 'replace' }]);
    await c.query('b', { query: 'memory', k: 1, reinforce: false });
    await live.membank.service.settled('b');
    await live.membank.service.checkpoint();

    // Writes keep coming while the backup runs: the copy holds a consistent prefix of them.
    let writing = true;
    let acknowledged = 200;
    const writer = (async () => {
      while (writing) {
        await c.writeMemories('b', [{ id: `w${acknowledged}`, text: `written during backup ${acknowledged}` }]);
        acknowledged++;
      }
    })();
    const dest = join(tempDir(), 'backup');
    const backup = await membank(['backup', dest, '--data-dir', dataDir]);
    writing = false;
    await writer;
    expect(backup.code).toBe(0);
    expect(backup.stdout).toMatch(/^Backed up .* 1 index files?/); // the memories' graph
    const all = async (client: MembankClient) => {
      const memories = new Map<string, unknown>();
      for await (const m of client.memories('b', { vector: true })) memories.set(m.id, m);
      return { memories, facts: await client.readFacts('b', { history: true }) };
    };
    const original = await all(c);
    await live.close();

    const restoredDir = join(tempDir(), 'restored');
    expect((await membank(['restore', dest, '--data-dir', restoredDir])).code).toBe(0);
    const again = await membank(['restore', dest, '--data-dir', restoredDir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already holds a membank database');

    const restored = await startMembank(restoredDir);
    const r = new MembankClient({ url: restored.url });
    const count = (await r.getNamespace('b')).count;
    expect(count).toBeGreaterThanOrEqual(200);
    expect(count).toBeLessThanOrEqual(acknowledged);
    // The index agrees with SQLite: every memory is found by its own text.
    expect((await r.getNamespace('b')).index.elements).toBe(count);
    // (The hash embedder of the tests maps "memory number 150" and "…128" to the same vector: ask for a few.)
    expect((await r.query('b', { query: 'memory number 150', k: 3, reinforce: false })).map((h) => h.id)).toContain('m150');
    // Every restored memory (text, metadata, vector, times, strength) and every fact (history too) is the original's.
    const copy = await all(r);
    expect(copy.memories.size).toBe(count);
    for (const [id, memory] of copy.memories) expect(memory, id).toEqual(original.memories.get(id));
    expect(copy.facts).toEqual(original.facts);
    expect(copy.facts.map((f) => f.object)).toEqual(['Oslo', 'Rome']);
    await restored.close();

    const refused = await membank(['backup', dest, '--data-dir', dataDir]);
    expect(refused.code).toBe(1);
    rmSync(dest, { recursive: true, force: true });
  });
});

describe('import-graph', () => {
  it("imports the reference memory server's JSONL file, idempotently", async () => {
    const file = join(tempDir(), 'memory.jsonl');
    writeFileSync(
      file,
      [
        { type: 'entity', name: 'Ann', entityType: 'person', observations: ['likes tea', 'lives in Oslo'] },
        { type: 'entity', name: 'Oslo', entityType: 'city', observations: [] },
        { type: 'relation', from: 'Ann', to: 'Oslo', relationType: 'lives_in' },
      ]
        .map((l) => JSON.stringify(l))
        .join('\n'),
    );
    for (let i = 0; i < 2; i++) {
      const answer = await membank(['import-graph', file, '-n', 'kg', '--url', url]);
      expect(answer.stdout.trim()).toBe('Imported 2 entities, 2 observations and 1 relations into "kg".');
    }
    expect((await client.getNamespace('kg')).count).toBe(4); // 2 entities + 2 observations, not duplicated
    expect((await client.readFacts('kg', { subject: 'Ann' })).map((f) => [f.predicate, f.object])).toEqual([['lives_in', 'Oslo']]);
    writeFileSync(file, '{"type":"person"}');
    const bad = await membank(['import-graph', file, '-n', 'kg', '--url', url]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe('membank import-graph: Line 1: expected type "entity" or "relation", got "person".');
    writeFileSync(file, '{"type":"entity","name":"Ann","observations":[]}');
    const incomplete = await membank(['import-graph', file, '-n', 'kg', '--url', url]);
    expect(incomplete.stderr.trim()).toMatch(/^membank import-graph: Line 1: entityType: [^\n]+$/);
  });
});
