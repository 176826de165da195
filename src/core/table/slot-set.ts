/**
 * Sets of table slots, as a filter evaluates to: small ones are plain sets that a search iterates, large ones
 * masks over every slot, and a negation a view over its complement, so that no evaluation copies what it
 * does not have to.
 */

export interface SlotSet {
  /** How many slots are in the set. */
  readonly size: number;
  has(slot: number): boolean;
  /** Visits every slot in the set (in no promised order). */
  forEach(visit: (slot: number) => void): void;
}

export const EMPTY: SlotSet = { size: 0, has: () => false, forEach: () => {} };

/** A set of slots held as a JavaScript Set (a posting list, or a small intersection). */
export function sparse(slots: Set<number>): SlotSet {
  return { get size() { return slots.size; }, has: (slot) => slots.has(slot), forEach: (visit) => slots.forEach(visit) };
}

/** A mask over slots 0..mask.length−1. */
export function masked(mask: Uint8Array, size: number): SlotSet {
  return {
    size,
    has: (slot) => mask[slot] === 1,
    forEach(visit) {
      for (let slot = 0; slot < mask.length; slot++) if (mask[slot] === 1) visit(slot);
    },
  };
}

/** The live slots (as `universe` says) that are not in `inner`. */
export function complement(inner: SlotSet, universe: SlotSet): SlotSet {
  return {
    size: universe.size - inner.size,
    has: (slot) => universe.has(slot) && !inner.has(slot),
    forEach: (visit) => universe.forEach((slot) => !inner.has(slot) && visit(slot)),
  };
}

/** Sets of at least this share of the slots are kept as masks rather than JavaScript Sets. */
const DENSE_SHARE = 1 / 32;

/** The slots in every one of the sets: iterates the smallest, tests the others. */
export function intersect(sets: SlotSet[], capacity: number): SlotSet {
  if (sets.length === 1) return sets[0]!;
  const ordered = [...sets].sort((a, b) => a.size - b.size);
  const [smallest, ...others] = ordered as [SlotSet, ...SlotSet[]];
  if (smallest.size === 0) return EMPTY;
  return collect(capacity, smallest.size, (add) => smallest.forEach((slot) => others.every((s) => s.has(slot)) && add(slot)));
}

/** The slots in any of the sets. */
export function union(sets: SlotSet[], capacity: number): SlotSet {
  const nonEmpty = sets.filter((s) => s.size > 0);
  if (nonEmpty.length === 0) return EMPTY;
  if (nonEmpty.length === 1) return nonEmpty[0]!;
  const bound = nonEmpty.reduce((sum, s) => sum + s.size, 0);
  return collect(capacity, bound, (add) => nonEmpty.forEach((s) => s.forEach(add)));
}

/**
 * Materializes the slots that `fill` adds (duplicates allowed) as a Set when at most `bound` of them can be
 * few, else as a mask.
 */
export function collect(capacity: number, bound: number, fill: (add: (slot: number) => void) => void): SlotSet {
  if (bound < capacity * DENSE_SHARE) {
    const slots = new Set<number>();
    fill((slot) => slots.add(slot));
    return sparse(slots);
  }
  const mask = new Uint8Array(capacity);
  let size = 0;
  fill((slot) => {
    if (mask[slot] === 0) {
      mask[slot] = 1;
      size++;
    }
  });
  return masked(mask, size);
}
