/**
 * Parsing a restic REST repository URL (`rest:http://user:pass@host:8000/repo/`) into a base URL
 * without credentials, a location string safe to show and log, and a Basic auth header.
 */
import { LifeboatError } from '../../../shared/errors';

/** A REST repository address split into its safe part and its secret part. */
export interface RestEndpoint {
  /** `http(s)://host:port/path/` with no user info, always ending in `/`. */
  baseUrl: string;
  /** `rest:` + baseUrl: what the user sees and what restic's `-r` takes (without credentials). */
  location: string;
  /** `Basic …` when the URL carried a user name, else undefined. Never log it. */
  authorization: string | undefined;
}

/** Splits a restic REST URL; INVALID_INPUT (without echoing the URL, which may hold a password) if it is not http(s). */
export function parseRestUrl(input: string): RestEndpoint {
  const raw = input.startsWith('rest:') ? input.slice('rest:'.length) : input;
  let url: URL;
  try {
    url = new URL(raw);
  } catch (cause) {
    throw new LifeboatError('INVALID_INPUT', 'The REST repository address is not a valid URL (expected rest:http://host:port/path/).', { cause: cause instanceof Error ? cause.name : 'invalid URL' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new LifeboatError('INVALID_INPUT', `The REST repository address must use http or https, not ${url.protocol.replace(/:$/, '')}.`);
  }
  if (url.search || url.hash) {
    throw new LifeboatError('INVALID_INPUT', 'The REST repository address must not have a query or fragment.');
  }
  let authorization: string | undefined;
  if (url.username || url.password) {
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    authorization = `Basic ${Buffer.from(`${user}:${pass}`, 'utf8').toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  // restic requires the repository URL to end in "/": every file path is resolved below it.
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  const baseUrl = url.toString();
  return { baseUrl, location: `rest:${baseUrl}`, authorization };
}
