/**
 * The texts an item's value yields for embedding, read at LangGraph's field paths: `text`, `a.b`, `list[0]`,
 * `list[-1]`, `list[*].name`, `*` (every value of an object or array), `{title,body}` (several fields) and `$`
 * (the whole value as JSON). Strings are taken as they are, numbers and booleans as text, objects and arrays as
 * indented JSON, as LangGraph's InMemoryStore reads them.
 */

/** Splits a path at dots, keeping `[...]` and `{...}` groups (which may hold dots) as single steps. */
export function pathSteps(path: string): string[] {
  const steps: string[] = [];
  let word = '';
  for (let i = 0; i < path.length; i++) {
    const char = path[i]!;
    if (char === '[' || char === '{') {
      if (word) steps.push(word);
      word = '';
      const close = char === '[' ? ']' : '}';
      let depth = 0;
      let group = '';
      for (; i < path.length; i++) {
        group += path[i];
        if (path[i] === char) depth++;
        else if (path[i] === close && --depth === 0) break;
      }
      steps.push(group);
    } else if (char === '.') {
      if (word) steps.push(word);
      word = '';
    } else {
      word += char;
    }
  }
  if (word) steps.push(word);
  return steps;
}

const asText = (value: unknown): string[] => {
  if (typeof value === 'string') return [value];
  if (typeof value === 'number' || typeof value === 'boolean') return [String(value)];
  if (value === null || value === undefined) return [];
  return typeof value === 'object' ? [JSON.stringify(value, null, 2)] : [];
};

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

function walk(value: unknown, steps: string[], at: number): string[] {
  if (at === steps.length) return asText(value);
  const step = steps[at]!;
  if (step.startsWith('[') && step.endsWith(']')) {
    if (!Array.isArray(value)) return [];
    const index = step.slice(1, -1);
    if (index === '*') return value.flatMap((element) => walk(element, steps, at + 1));
    const n = Number.parseInt(index, 10);
    if (Number.isNaN(n)) return [];
    const position = n < 0 ? value.length + n : n;
    return position >= 0 && position < value.length ? walk(value[position], steps, at + 1) : [];
  }
  if (step.startsWith('{') && step.endsWith('}')) {
    if (!isObject(value)) return [];
    return step
      .slice(1, -1)
      .split(',')
      .map((field) => field.trim())
      .flatMap((field) => {
        let current: unknown = value;
        for (const part of pathSteps(field)) {
          if (!isObject(current) || !(part in current)) return [];
          current = current[part];
        }
        // InMemoryStore writes a null field as the JSON text `null`.
        return current === undefined ? [] : current === null ? ['null'] : asText(current);
      });
  }
  if (step === '*') {
    if (Array.isArray(value)) return value.flatMap((element) => walk(element, steps, at + 1));
    return isObject(value) ? Object.values(value).flatMap((child) => walk(child, steps, at + 1)) : [];
  }
  return isObject(value) && step in value ? walk(value[step], steps, at + 1) : [];
}

/** The texts at one path of a value (several for `[*]`, `*` and `{…}`). */
export function textsAt(value: unknown, path: string): string[] {
  if (path === '' || path === '$') return [JSON.stringify(value, null, 2)];
  return walk(value, pathSteps(path), 0);
}
