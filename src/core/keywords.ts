/**
 * Words for keyword search: the tokens a text is indexed under (Unicode-folded, Porter-stemmed, as SQLite
 * FTS5's `porter unicode61 remove_diacritics 2` tokenizer makes them), and the topical words of a query (minus
 * English function words).
 */
import { stemmer } from 'stemmer';

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

/** Whether an index token (a stem) is that of a function word. */
export const isStopStem = (token: string): boolean => STOP_STEMS.has(token);

/**
 * Words as the FTS5 unicode61 tokenizer sees them: runs of letters, digits and combining marks (everything else
 * separates), lower-cased.
 */
export function words(text: string): string[] {
  return text.normalize('NFKC').toLowerCase().match(/[\p{L}\p{N}\p{M}\p{Co}]+/gu) ?? [];
}

/** Porter stems only words of ASCII letters of at least 3 characters, as FTS5's porter tokenizer does. */
const STEMMABLE = /^[a-z]{3,64}$/;

/** The stem a word is indexed and searched under. */
export function stem(word: string): string {
  // Diacritics come off Latin letters only (café → cafe), as with remove_diacritics 2; other scripts keep marks.
  const decomposed = word.normalize('NFD');
  const folded = LATIN.test(decomposed) ? decomposed.replace(/\p{M}+/gu, '') : word;
  return STEMMABLE.test(folded) ? stemmer(folded) : folded;
}

const LATIN = /^[\p{Script=Latin}\p{M}\p{N}]+$/u;

const STOP_STEMS = new Set([...STOPWORDS].map(stem));

/**
 * The speaker a text names at its start, as chat turns are often stored ("Caroline: I went to …"): one to three
 * capitalized words, then a colon and a space; undefined when there is none.
 */
export function speakerPrefix(text: string): string | undefined {
  return SPEAKER_PREFIX.exec(text)?.[1];
}

const SPEAKER_PREFIX = /^\s*(\p{Lu}[\p{L}\p{M}\p{N}'’.-]{0,30}(?: \p{Lu}[\p{L}\p{M}\p{N}'’.-]{0,30}){0,2}):\s/u;

/** A text's tokens in order, stemmed: what keyword search indexes (function words included, as FTS5 does). */
export function indexTokens(text: string): string[] {
  return words(text).map(stem);
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
