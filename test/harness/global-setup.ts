import { mkdirSync } from 'node:fs';
import path from 'node:path';

/** Runs once before all test files: makes the folder screenshots and logs go to. */
export default function setup(): void {
  mkdirSync(path.resolve('test/artifacts'), { recursive: true });
}
