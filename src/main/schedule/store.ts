import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { LifeboatError } from '../../shared/errors';
import { scheduleFileSchema, type ScheduleFile } from '../../shared/schedule';
import { writeFileAtomic } from '../fs/atomic-write';

/** What the scheduler remembers of one task between runs and restarts. */
const taskStateSchema = z.object({
  /** Slots at or before this (ms) are not due: when the task (or its schedule) first appeared. */
  anchor: z.number(),
  /** Hash of the schedule the anchor belongs to; a changed schedule starts afresh. */
  specHash: z.string(),
  /** The latest slot (ms, jitter included) a run was started for. */
  lastSlot: z.number().nullable().default(null),
  lastRunAt: z.number().nullable().default(null),
  lastOutcome: z.enum(['succeeded', 'failed', 'cancelled']).nullable().default(null),
  lastError: z.string().nullable().default(null),
  lastErrorCode: z.string().nullable().default(null),
  failures: z.number().int().default(0),
  /** Back-off: nothing starts before this (ms). */
  holdUntil: z.number().nullable().default(null),
  /** Whether a retry runs when the back-off ends (not after an authentication failure). */
  retry: z.boolean().default(false),
  /** Why the task is held until the operator resumes it (a login storm would lock the account). */
  held: z.string().nullable().default(null),
  heldAt: z.number().nullable().default(null),
  /** Start times of recent attempts (ms), for the app's login limit. */
  attempts: z.array(z.number()).default([]),
  runningJobId: z.string().nullable().default(null),
  /** Retention: the policy whose preview has been shown; a different one is previewed first. */
  previewedPolicy: z.string().nullable().default(null),
});
export type TaskState = z.infer<typeof taskStateSchema>;

const stateFileSchema = z.object({
  version: z.literal(1).default(1),
  lastTickAt: z.number().nullable().default(null),
  tasks: z.record(z.string(), taskStateSchema).default({}),
});
export type ScheduleState = z.infer<typeof stateFileSchema>;

/** schedules.json (what the operator set) and schedule-state.json (what the scheduler did), in the data directory. */
export class ScheduleStore {
  private writing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly configFile: string,
    private readonly stateFile: string,
  ) {}

  async config(): Promise<ScheduleFile> {
    return readJson(this.configFile, scheduleFileSchema);
  }

  /** Changes the configuration; writes are serialised so two edits in one process never lose each other. */
  async updateConfig(change: (current: ScheduleFile) => ScheduleFile | void): Promise<ScheduleFile> {
    const next = this.writing.then(async () => {
      const current = await this.config();
      const changed = scheduleFileSchema.parse(change(current) ?? current);
      await writeFileAtomic(this.configFile, `${JSON.stringify(changed, null, 2)}\n`);
      return changed;
    });
    this.writing = next.catch(() => undefined);
    return next;
  }

  async state(): Promise<ScheduleState> {
    return readJson(this.stateFile, stateFileSchema);
  }

  async saveState(state: ScheduleState): Promise<void> {
    const next = this.writing.then(() => writeFileAtomic(this.stateFile, `${JSON.stringify(state)}\n`));
    this.writing = next.catch(() => undefined);
    await next;
  }

  static taskState(anchor: number, specHash: string): TaskState {
    return taskStateSchema.parse({ anchor, specHash });
  }
}

async function readJson<T extends z.ZodType>(file: string, schema: T): Promise<z.output<T>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return schema.parse({});
    throw error;
  }
  try {
    return schema.parse(JSON.parse(text));
  } catch (error) {
    throw new LifeboatError('INVALID_INPUT', `${file} is not valid; fix or remove it.`, { cause: error });
  }
}
