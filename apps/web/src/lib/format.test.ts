import { describe, expect, it } from 'vitest';
import { countOf, estimateTimeLeft, formatBytes, formatDuration, formatPercent, formatRate, nounFor } from './format.ts';
import { csvField, toCsv } from './csv.ts';

describe('formatting', () => {
  it('formats sizes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(2048)).toBe('2.0 KB');
    expect(formatBytes(600 * 1024 * 1024)).toBe('600 MB');
    expect(formatBytes(-1)).toBe('–');
  });

  it('counts with the right noun', () => {
    expect(countOf(1, 'hospital')).toBe('1 hospital');
    expect(countOf(0, 'hospital')).toBe('0 hospitals');
    expect(countOf(1200, 'image')).toBe('1,200 images');
    expect(countOf(2, 'pass', 'passes')).toBe('2 passes');
    expect(nounFor(1, 'copy', 'copies')).toBe('copy');
  });

  it('formats durations', () => {
    expect(formatDuration(42)).toBe('42 s');
    expect(formatDuration(0.42)).toBe('0.4 s');
    expect(formatDuration(185)).toBe('3 min 05 s');
    expect(formatDuration(3720)).toBe('1 h 02 min');
  });

  it('formats percentages and rates', () => {
    expect(formatPercent(0.8768)).toBe('87.7 %');
    expect(formatPercent(null)).toBe('–');
    expect(formatRate(3.26, 'images')).toBe('3.3 images/s');
    expect(formatRate(0, 'images')).toBe('–');
  });

  it('estimates time left from progress so far', () => {
    expect(estimateTimeLeft(0, 10, 5)).toBeNull();
    expect(estimateTimeLeft(5, 10, 5)).toBe(5);
    expect(estimateTimeLeft(10, 10, 5)).toBe(0);
  });
});

describe('csv', () => {
  it('quotes fields that need it and defuses spreadsheet formulas', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('=SUM(A1)')).toBe("'=SUM(A1)");
    expect(csvField(-0.5)).toBe('-0.5');
    expect(csvField(null)).toBe('');
    expect(toCsv(['round', 'accuracy'], [[1, 0.5], [2, null]])).toBe('round,accuracy\r\n1,0.5\r\n2,\r\n');
  });
});
