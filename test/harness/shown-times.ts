/**
 * ISO timestamps a page shows as text: the UI shows every time relative with the exact one on
 * hover, so any found is a time that escaped the one date format. Text inside <pre> (a raw sidecar
 * file, a job's log) is the file as it is, by design, and not counted; hidden text is not shown.
 */
import type { Page } from 'playwright-core';
import { ISO_TIMESTAMP } from '../../src/renderer/lib/format';

export async function isoTimestampsShown(page: Page): Promise<string[]> {
  return page.evaluate((source) => {
    const pattern = new RegExp(source, 'g');
    const found: string[] = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      const element = node.parentElement;
      if (!element || element.closest('pre') || !element.checkVisibility()) continue;
      // With the text around it, so a failure says where it is.
      for (const match of node.textContent?.match(pattern) ?? []) found.push(`${match} in <${element.tagName.toLowerCase()} class="${element.className}">: ${(element.closest('li, tr, section, p') ?? element).textContent?.slice(0, 200) ?? ''}`);
    }
    return found;
  }, ISO_TIMESTAMP.source);
}
