import { describe, expect, it } from 'vitest';
import { timeWindow, windowValue } from './time-window.js';

const REF = Date.UTC(2023, 9, 20, 15, 30); // 20 October 2023, the latest memory's time
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const span = (text: string, ref = REF) => {
  const w = timeWindow(text, ref);
  return w && [iso(w.start), iso(w.end)];
};

describe('time window', () => {
  it('reads the time a question names relative to the reference, as whole days, months or years', () => {
    expect(span('What did Ann do last May?')).toEqual(['2023-05-01', '2023-06-01']);
    expect(span('What did Ann do last May?', Date.UTC(2024, 1, 3))).toEqual(['2023-05-01', '2023-06-01']);
    expect(span('What did Ann do last May?', Date.UTC(2023, 4, 20))).toEqual(['2022-05-01', '2022-06-01']);
    expect(span('When did Melanie go camping in June?')).toEqual(['2023-06-01', '2023-07-01']);
    expect(span('What painting did Melanie show on October 13, 2023?')).toEqual(['2023-10-13', '2023-10-14']);
    expect(span('What did Gina find on 1 February, 2023?')).toEqual(['2023-02-01', '2023-02-02']);
    expect(span('What did they talk about yesterday?')).toEqual(['2023-10-19', '2023-10-20']);
    expect(span('What did Bob say last week?')).toEqual(['2023-10-13', '2023-10-20']);
    expect(span('Who called last month?')).toEqual(['2023-09-01', '2023-10-01']);
    expect(span('Where did they travel last year?')).toEqual(['2022-01-01', '2023-01-01']);
    expect(span('What did Jon build in 2022?')).toEqual(['2022-01-01', '2023-01-01']);
  });

  it('names no window for questions without a date, nor for a mere time of day', () => {
    expect(timeWindow('What did Caroline research?', REF)).toBeUndefined();
    expect(timeWindow('How does Jon feel about the opening night of his studio?', REF)).toBeUndefined();
    expect(timeWindow('How many of the 2000 chairs were sold?', REF)).toBeUndefined();
  });

  it('is soft: 1 inside, halving with every window length outside', () => {
    const june = timeWindow('in June', REF)!;
    expect(windowValue(june, Date.UTC(2023, 5, 15))).toBe(1);
    expect(windowValue(june, june.end + (june.end - june.start))).toBeCloseTo(0.5, 12);
    expect(windowValue(june, Date.UTC(2023, 6, 3))).toBeGreaterThan(0.9);
    expect(windowValue(june, Date.UTC(2022, 5, 15))).toBeLessThan(1e-3);
  });
});
