import { describe, expect, it } from 'vitest';
import { type Access, canDo, canSee, patternMatches, roleAllows } from './access.js';

const key = (role: 'read' | 'write' | 'admin', namespaces: string[]): Access => ({
  kind: 'key',
  key: { id: 'k', role, namespaces, createdAt: 0, revokedAt: null },
});

describe('access', () => {
  it('matches namespace patterns with * and nothing else special', () => {
    expect(patternMatches('team-a.*', 'team-a.notes')).toBe(true);
    expect(patternMatches('team-a.*', 'team-a.')).toBe(true);
    expect(patternMatches('team-a.*', 'team-ab')).toBe(false);
    expect(patternMatches('team-a.*', 'xteam-a.notes')).toBe(false);
    expect(patternMatches('a.b', 'aXb')).toBe(false); // '.' is literal
    expect(patternMatches('*', 'anything')).toBe(true);
    expect(patternMatches('user-*-private', 'user-7-private')).toBe(true);
  });

  it('orders roles read < write < admin', () => {
    expect(roleAllows('read', 'write')).toBe(false);
    expect(roleAllows('write', 'read')).toBe(true);
    expect(roleAllows('write', 'admin')).toBe(false);
    expect(roleAllows('admin', 'write')).toBe(true);
  });

  it('lets a key see only its namespaces, an admin and open access all', () => {
    expect(canSee(key('write', ['team-a.*']), 'team-a.x')).toBe(true);
    expect(canSee(key('write', ['team-a.*']), 'team-b.x')).toBe(false);
    expect(canSee(key('admin', []), 'team-b.x')).toBe(true);
    expect(canSee({ kind: 'open' }, 'team-b.x')).toBe(true);
    expect(canDo(key('read', ['*']), 'write')).toBe(false);
    expect(canDo({ kind: 'open' }, 'admin')).toBe(true);
  });
});
