/**
 * Query text for keyword search: the words of a query, minus English function words, and the FTS5 query that
 * matches any of them. Pure; the SQLite adapter runs the query.
 */

/** Words that carry no topic: a query's "what did she do" should match on what remains. */
const STOPWORDS = new Set(
  (
    'a about above after again against all also am an and any are as at be been before being below between both but by ' +
    'can could did do does doing down during each either else ever every few for from further had has have having he her ' +
    'here hers herself him himself his how i if in into is it its itself just let may me might mine more most much must ' +
    'my myself neither no nor not now of off on once only or other our ours ourselves out over own rather s same shall ' +
    'she should so some such t than that the their theirs them themselves then there these they this those through to ' +
    'too under until up upon us very was we were what when where whether which while who whom whose why will with would ' +
    'yet you your yours yourself yourselves'
  ).split(' '),
);

/** Words as the FTS5 unicode61 tokenizer sees them: runs of letters and digits, lower-cased. */
export function words(text: string): string[] {
  return text.normalize('NFKC').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** The distinct topical words of a query, in order; all its words when every one is a stopword. */
export function queryTerms(text: string, limit = 64): string[] {
  const all = [...new Set(words(text))];
  const topical = all.filter((w) => !STOPWORDS.has(w) && !(w.length === 1 && /\p{L}/u.test(w)));
  return (topical.length > 0 ? topical : all).slice(0, limit);
}

/**
 * An FTS5 expression matching any of the terms in the given columns. Each term is a quoted string, so no
 * query syntax (operators, column filters, NEAR) can come from the user.
 */
export function anyTermQuery(terms: string[], columns: string[]): string {
  const phrases = terms.map((term) => `"${term.replaceAll('"', '""')}"`).join(' OR ');
  return `{${columns.join(' ')}} : (${phrases})`;
}

/**
 * Metadata strings up to this many characters are tags (a speaker, a user, a topic) that a query may name.
 * The same bound is in migrations/004_full_text_search.sql, which indexes them.
 */
export const TAG_MAX_CHARS = 64;

/** The words of a memory's short metadata strings, at any depth. */
export function tagWords(metadata: unknown): Set<string> {
  const out = new Set<string>();
  const visit = (value: unknown): void => {
    if (typeof value === 'string') {
      if (value.length <= TAG_MAX_CHARS) for (const w of words(value)) out.add(w);
    } else if (Array.isArray(value)) {
      value.forEach(visit);
    } else if (value !== null && typeof value === 'object') {
      Object.values(value).forEach(visit);
    }
  };
  visit(metadata);
  return out;
}
