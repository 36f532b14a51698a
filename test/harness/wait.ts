/**
 * Waits for something the test can observe, instead of for a fixed time: `check` is asked every
 * `everyMs` until it holds. The timeout is generous on purpose (a loaded machine is slow, not
 * wrong); reaching it fails with what was awaited.
 */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
