// Dropping files on a page the way a browser does, for the e2e tests of drop targets.
import type { Page } from 'playwright-core';

/** A file to build inside the page: given bytes (base64) or `random` bytes from crypto. */
export type FileSpec = { name: string; base64: string } | { name: string; random: number };

/**
 * Drops files on the Vault page the way a browser does: a DataTransfer holding Files, sent as
 * dragenter, dragover and drop on the page's drop zone.
 */
export async function dropFiles(target: Page, specs: FileSpec[], zoneSelector = '.vault-drop'): Promise<void> {
  const transfer = await target.evaluateHandle((list: FileSpec[]) => {
    const dt = new DataTransfer();
    for (const spec of list) {
      let bytes: Uint8Array<ArrayBuffer>;
      if ('base64' in spec) {
        bytes = Uint8Array.from(atob(spec.base64), (c) => c.charCodeAt(0));
      } else {
        bytes = new Uint8Array(spec.random);
        // getRandomValues fills at most 64 KiB per call.
        for (let offset = 0; offset < bytes.length; offset += 65_536) crypto.getRandomValues(bytes.subarray(offset, offset + 65_536));
      }
      dt.items.add(new File([bytes], spec.name, { type: 'application/octet-stream' }));
    }
    return dt;
  }, specs);
  const zone = target.locator(zoneSelector);
  for (const type of ['dragenter', 'dragover', 'drop']) await zone.dispatchEvent(type, { dataTransfer: transfer });
  await transfer.dispose();
}

