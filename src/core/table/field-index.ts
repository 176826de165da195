/**
 * Postings of metadata values per field, so that a filter is evaluated from memory in time proportional to
 * what it matches rather than by reading every row. A field is indexed the first time a filter names it (its
 * values read once from the store), then kept up to date by every write. Semantics are those of
 * `matchesFilter`: typed equality, `$gt…$lte` on numbers only, `$ne`/`$nin` also matching a missing field.
 */
import type { FilterNode, Scalar } from '../filter.js';
import type { Metadata, MetadataValue } from '../types.js';
import { complement, EMPTY, intersect, type SlotSet, sparse, union } from './slot-set.js';

/** The scalar at a path of a metadata object, or undefined when absent or not a scalar. */
export function scalarAt(metadata: Metadata, path: readonly string[]): Scalar | undefined {
  let current: MetadataValue | undefined = metadata;
  for (const segment of path) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = Object.hasOwn(current, segment) ? current[segment] : undefined;
  }
  return typeof current === 'string' || typeof current === 'boolean' || (typeof current === 'number' && Number.isFinite(current))
    ? current
    : undefined;
}

export const fieldKey = (path: readonly string[]): string => path.join('\u0000');

/** Every value of one field, and the slots holding each. */
export class FieldPostings {
  private readonly strings = new Map<string, Set<number>>();
  private readonly numbers = new Map<number, Set<number>>();
  private readonly booleans = [new Set<number>(), new Set<number>()];
  /** The value each slot holds (undefined: none), to take it out of its posting when it changes. */
  private readonly values: (Scalar | undefined)[] = [];
  private entries = 0;

  constructor(readonly path: readonly string[]) {}

  set(slot: number, value: Scalar | undefined): void {
    this.clear(slot);
    if (value === undefined) return;
    this.values[slot] = value;
    this.postingFor(value, true)!.add(slot);
    this.entries++;
  }

  clear(slot: number): void {
    const old = this.values[slot];
    if (old === undefined) return;
    const posting = this.postingFor(old, false)!;
    posting.delete(slot);
    if (posting.size === 0) {
      if (typeof old === 'string') this.strings.delete(old);
      else if (typeof old === 'number') this.numbers.delete(old);
    }
    this.values[slot] = undefined;
    this.entries--;
  }

  valueAt(slot: number): Scalar | undefined {
    return this.values[slot];
  }

  /** Slots holding exactly this value (typed). */
  equal(value: Scalar): SlotSet {
    const posting = this.postingFor(value, false);
    return posting ? sparse(posting) : EMPTY;
  }

  /** Slots holding a number for which `holds` is true. */
  numbersWhere(holds: (value: number) => boolean, capacity: number): SlotSet {
    const sets: SlotSet[] = [];
    for (const [value, slots] of this.numbers) if (holds(value)) sets.push(sparse(slots));
    return union(sets, capacity);
  }

  /** The distinct string values (for tag words). */
  stringValues(): IterableIterator<string> {
    return this.strings.keys();
  }

  /** Each distinct value with how many slots hold it. */
  *counts(): IterableIterator<[Scalar, number]> {
    for (const [value, slots] of this.strings) yield [value, slots.size];
    for (const [value, slots] of this.numbers) yield [value, slots.size];
    if (this.booleans[1]!.size > 0) yield [true, this.booleans[1]!.size];
    if (this.booleans[0]!.size > 0) yield [false, this.booleans[0]!.size];
  }

  /** Slots holding each distinct string value. */
  stringPostings(): IterableIterator<[string, Set<number>]> {
    return this.strings.entries();
  }

  /** Bytes held, estimated: a posting entry and a value slot each, plus a map entry per distinct value. */
  bytes(): number {
    return this.entries * 48 + this.values.length * 8 + (this.strings.size + this.numbers.size) * 80;
  }

  private postingFor(value: Scalar, create: boolean): Set<number> | undefined {
    if (typeof value === 'boolean') return this.booleans[value ? 1 : 0];
    const map: Map<Scalar, Set<number>> = typeof value === 'string' ? this.strings : (this.numbers as Map<Scalar, Set<number>>);
    let posting = map.get(value);
    if (!posting && create) {
      posting = new Set();
      map.set(value, posting);
    }
    return posting;
  }
}

const ORDER: Record<string, (a: number, b: number) => boolean> = {
  $gt: (a, b) => a > b,
  $gte: (a, b) => a >= b,
  $lt: (a, b) => a < b,
  $lte: (a, b) => a <= b,
};

/** The fields a filter reads, each once. */
export function filterFields(node: FilterNode, out = new Map<string, readonly string[]>()): Map<string, readonly string[]> {
  if (node.kind === 'and' || node.kind === 'or') node.children.forEach((child) => filterFields(child, out));
  else out.set(fieldKey(node.path), node.path);
  return out;
}

/**
 * The slots of `universe` (the live ones) that a filter matches, from the postings of the fields it names
 * (all of which must be indexed).
 */
export function evaluateFilter(
  node: FilterNode,
  fields: ReadonlyMap<string, FieldPostings>,
  universe: SlotSet,
  capacity: number,
): SlotSet {
  const postings = (path: readonly string[]): FieldPostings => {
    const found = fields.get(fieldKey(path));
    if (!found) throw new Error(`field ${path.join('.')} is not indexed`);
    return found;
  };
  const visit = (n: FilterNode): SlotSet => {
    switch (n.kind) {
      case 'and':
        return intersect(n.children.map(visit), capacity);
      case 'or':
        return union(n.children.map(visit), capacity);
      case 'list': {
        const field = postings(n.path);
        const any = union(
          n.values.map((v) => field.equal(v)),
          capacity,
        );
        return n.op === '$in' ? any : complement(any, universe);
      }
      case 'compare': {
        const field = postings(n.path);
        if (n.op === '$eq') return field.equal(n.value);
        if (n.op === '$ne') return complement(field.equal(n.value), universe);
        const holds = ORDER[n.op]!;
        const operand = n.value as number;
        return field.numbersWhere((value) => holds(value, operand), capacity);
      }
    }
  };
  // Postings hold live slots only, so a positive set is already inside the universe.
  return visit(node);
}
