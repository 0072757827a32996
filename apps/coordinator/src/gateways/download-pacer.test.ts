import { describe, expect, it } from 'vitest';
import { DownloadPacer } from './download-pacer.ts';

const turn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

describe('DownloadPacer', () => {
  it('answers in order, a few per turn of the event loop, with timers running between the turns', async () => {
    const pacer = new DownloadPacer(3);
    const produced: number[] = [];
    const ticks: number[] = [];
    const timer = setInterval(() => {
      ticks.push(produced.length);
    }, 0);
    const answers = Array.from({ length: 10 }, (_, i) =>
      pacer.next(() => {
        produced.push(i);
        return i * 10;
      }),
    );
    expect(produced).toEqual([]); // nothing is produced in the turn that asked
    expect(pacer.waiting).toBe(10);
    const values = await Promise.all(answers);
    clearInterval(timer);
    expect(values).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
    expect(produced).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(pacer.waiting).toBe(0);
    // A timer ran while the downloads were part-way: the loop was not held for all ten.
    expect(ticks.some((n) => n > 0 && n < 10)).toBe(true);
  });

  it('produces each answer at its turn, and a throwing producer fails only its own download', async () => {
    const pacer = new DownloadPacer(1);
    let state = 'before';
    const first = pacer.next(() => state);
    const second = pacer.next(() => {
      throw new Error('gone');
    });
    const third = pacer.next(() => state);
    state = 'after';
    await expect(first).resolves.toBe('after');
    await expect(second).rejects.toThrow('gone');
    await expect(third).resolves.toBe('after');
    await turn();
    expect(pacer.waiting).toBe(0);
  });
});
