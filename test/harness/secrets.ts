import { randomBytes } from 'node:crypto';

/** Every secret a test uses carries this marker, so the suite's end can prove none leaked. */
export const TEST_SECRET_MARKER = 'LBTESTSECRET';

export const testSecret = (label = 'x'): string => `${TEST_SECRET_MARKER}-${label}-${randomBytes(6).toString('hex')}`;
