import { describe, expect, it } from 'vitest';
import { DecompressBudget } from '../../src/main/formats/decompress-budget';

const limits = { maxBlockBytes: 1000, maxTotalBytes: 1500, maxRatio: 10, ratioFloorBytes: 100 };

describe('DecompressBudget', () => {
  it('lets output under every bound through', () => {
    const budget = new DecompressBudget('the dump x', limits);
    budget.startBlock('block a');
    budget.input(50);
    budget.output(400);
    expect(budget.totalBytes).toBe(400);
  });

  it('stops a block past its ratio once over the floor, naming the block', () => {
    const budget = new DecompressBudget('the dump x', limits);
    budget.startBlock('the data of TABLE DATA public.users');
    budget.input(10);
    budget.output(100);
    expect(() => budget.output(1)).toThrow(/the data of TABLE DATA public\.users unpacks to more than 10 times/i);
  });

  it('stops a block past its size and an archive past its total', () => {
    const one = new DecompressBudget('the dump x', limits);
    one.startBlock('block a');
    one.input(1000);
    expect(() => one.output(1001)).toThrow(expect.objectContaining({ code: 'ARCHIVE_INVALID', details: expect.objectContaining({ limit: 'block-size' }) }));
    const all = new DecompressBudget('the dump x', limits);
    all.startBlock('block a');
    all.input(1000);
    all.output(900);
    all.startBlock('block b');
    all.input(1000);
    expect(() => all.output(700)).toThrow(expect.objectContaining({ details: expect.objectContaining({ limit: 'total-size', block: 'block b' }) }));
  });
});

describe('DecompressBudget.declared', () => {
  it('refuses a declared size past the block or the total bound before any output', () => {
    const budget = new DecompressBudget('the dump x', limits);
    budget.startBlock('block a');
    budget.declared(1000);
    budget.input(1000);
    expect(() => budget.declared(1001)).toThrow(expect.objectContaining({ code: 'ARCHIVE_INVALID', details: expect.objectContaining({ limit: 'block-size', block: 'block a' }) }));
    budget.output(900);
    budget.startBlock('block b');
    expect(() => budget.declared(601)).toThrow(/block b declares 601 bytes unpacked, which takes the dump x past 1500 bytes/i);
  });
});
