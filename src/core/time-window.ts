/**
 * The time a question names ("in June", "last May", "on 13 October 2023", "last year", "in 2022"), as a window
 * of event time, read relative to a reference instant (the latest memory's time: a conversation's "last year"
 * is relative to when it was held, not to when it is searched). Hybrid search uses it as a soft window: see
 * `windowValue`. Parsing is chrono-node's (a maintained parser of English time expressions), plus the two
 * forms it leaves out: "last <month>" and a bare year after "in", "during" or "of".
 */
import * as chrono from 'chrono-node';

export interface TimeWindow {
  /** Epoch ms, inclusive. */
  start: number;
  /** Epoch ms, exclusive. */
  end: number;
  /** The words that named it. */
  text: string;
}

const DAY = 86_400_000;
const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const LAST_MONTH = new RegExp(`\\b(?:last|this past)\\s+(${MONTHS.join('|')})\\b`, 'i');
const BARE_YEAR = /\b(?:in|during|of|since)\s+((?:19|20)\d{2})\b/i;

const monthWindow = (year: number, month: number, text: string): TimeWindow => ({
  start: Date.UTC(year, month, 1),
  end: Date.UTC(year, month + 1, 1),
  text,
});
const yearWindow = (year: number, text: string): TimeWindow => ({ start: Date.UTC(year, 0, 1), end: Date.UTC(year + 1, 0, 1), text });

/** The first time a text names, as a window of whole days, months or years (UTC); undefined when none. */
export function timeWindow(text: string, reference: number): TimeWindow | undefined {
  const ref = new Date(reference);
  const lastMonth = LAST_MONTH.exec(text);
  if (lastMonth) {
    // The latest such month before the reference's own month.
    const month = MONTHS.indexOf(lastMonth[1]!.toLowerCase());
    const year = month < ref.getUTCMonth() ? ref.getUTCFullYear() : ref.getUTCFullYear() - 1;
    return monthWindow(year, month, lastMonth[0]);
  }
  for (const result of chrono.parse(text, { instant: ref, timezone: 'UTC' }, { forwardDate: false })) {
    const start = result.start;
    const at = start.date();
    const [year, month, day] = [at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()];
    if (/\bweeks?\b/i.test(result.text)) return { start: Date.UTC(year, month, day), end: Date.UTC(year, month, day) + 7 * DAY, text: result.text };
    if (start.isCertain('day')) {
      const end = result.end?.date();
      const last = end ? Date.UTC(end.getUTCFullYear(), end.getUTCMonth(), end.getUTCDate()) : Date.UTC(year, month, day);
      return { start: Date.UTC(year, month, day), end: last + DAY, text: result.text };
    }
    if (start.isCertain('month')) return monthWindow(year, month, result.text);
    if (start.isCertain('year')) return yearWindow(year, result.text);
    // Only a time of day ("night"), or nothing certain: no window.
  }
  const bareYear = BARE_YEAR.exec(text);
  if (bareYear) return yearWindow(Number(bareYear[1]), bareYear[0]);
  return undefined;
}

/**
 * How well an event time fits a window: 1 inside, halving with every window's length (at least a week) it
 * lies outside, so that a turn that tells of June a few days into July still counts.
 */
export function windowValue(window: TimeWindow, at: number): number {
  if (at >= window.start && at < window.end) return 1;
  const gap = at < window.start ? window.start - at : at - window.end;
  return 2 ** (-gap / Math.max(window.end - window.start, 7 * DAY));
}
