/**
 * Every error code the contract defines, rendered through the renderer's error component, reads as
 * one sentence (capital first, one full stop, no bare code or underscore id in the text), is shown
 * once, and offers the action that fixes it where there is one. The inputs are what the core says
 * at its worst: an empty message, a lower-case one with a doubled stop and the code inside, and the
 * dispatcher's real validation refusal.
 */
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode, type ErrorPayload } from '../../src/shared/errors';
import { ErrorMessage } from '../../src/renderer/components/error-message';
import { createDispatcher } from '../../src/main/contract/dispatcher';
import type { HandlerMap } from '../../src/main/contract/handler-types';
import type { CommandName } from '../../src/shared/contract';

/** Codes whose fix is somewhere the operator can go: the component must link there. */
const ACTIONABLE: Partial<Record<ErrorCode, string>> = {
  VAULT_NOT_INITIALIZED: 'Set up the vault',
  VAULT_WRONG_PASSWORD: 'Unlock vault',
  VAULT_LOCKED: 'See the vault’s locks',
  VAULT_CORRUPT: 'Check the vault',
  SECRET_STORE_UNAVAILABLE: 'Open Settings',
  SECRET_REQUIRED: 'Edit the installation',
  SSH_HOST_KEY_UNKNOWN: 'Review the key',
  SSH_HOST_KEY_CHANGED: 'Review the key',
  SSH_AUTH_FAILED: 'Edit the installation',
  DATABASE_AUTH_FAILED: 'Edit the installation',
  HTTP_AUTH_FAILED: 'Edit the installation',
  TLS_PIN_MISMATCH: 'Review the certificate',
  TLS_UNTRUSTED: 'Review the certificate',
  SSH_DNS: 'Edit the installation',
  HTTP_NETWORK: 'Check the connection',
};

interface Rendered {
  html: string;
  text: string;
  actions: string[];
}

const decode = (s: string): string => s.replace(/<[^>]+>/g, '').replace(/&quot;/g, '"').replace(/&#x27;/g, "'").replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>');

function render(error: ErrorPayload, title?: string): Rendered {
  const html = renderToStaticMarkup(createElement(ErrorMessage, title ? { error, title } : { error }));
  const text = decode(/<span class="error-text">(.*?)<\/span>/s.exec(html)?.[1] ?? '');
  const actions = [...html.matchAll(/class="button button-small error-action"[^>]*>(.*?)<\/(?:a|button)>/gs)].map((m) => decode(m[1]!));
  return { html, text, actions };
}

function expectSentence(text: string, code: string): void {
  expect(text, code).toMatch(/^[A-Z“"]/u);
  expect(text, code).toMatch(/[^.]\.$/u);
  expect(text, code).not.toMatch(/\.\./);
  expect(text, code).not.toMatch(/\b[A-Za-z]+_[A-Za-z_]+\b/);
  expect(text, code).not.toContain(code);
}

describe('error messages', () => {
  it.each([...ERROR_CODES])('%s reads as a sentence with its action, whatever the core said', (code) => {
    const said = [
      { code, message: '' },
      { code, message: `${code}: something broke..` },
      { code, message: 'the server said no' },
    ] satisfies ErrorPayload[];
    for (const payload of said) {
      const { text, actions, html } = render(payload);
      expectSentence(text, code);
      // The code is kept for a bug report on the element, not in what is read.
      expect(html).toContain(`data-code="${code}"`);
      const expected = ACTIONABLE[code];
      if (expected) expect(actions, code).toEqual([expected]);
      expect(actions.length, code).toBeLessThanOrEqual(1);
    }
  });

  it('a locked vault says so and offers to unlock it, not where the password is not', () => {
    const { text, actions } = render({ code: 'SECRET_REQUIRED', message: 'The vault is locked: unlock it first.', details: { purpose: 'vault-password' } });
    expect(text).toBe('The vault is locked.');
    expect(actions).toEqual(['Unlock vault']);
  });

  it('a validation refusal gives the field’s own words, not the command and the key', async () => {
    const dispatch = createDispatcher({} as HandlerMap<CommandName>);
    const result = await dispatch('installations:add', { name: ' ', app: 'directory', ssh: { host: '127.0.0.1', auth: 'agent' } }, {} as never);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.message).toMatch(/^Invalid input for installations:add: name:/);
    const { text } = render(result.error);
    expect(text).toBe('Give the installation a name.');
  });

  it('a title and a message that say the same are shown once, and a colon title is not doubled', () => {
    const once = render({ code: 'NOT_FOUND', message: 'Could not list the files.' }, 'Could not list the files.');
    expect(once.text).toBe('Could not list the files.');
    const joined = render({ code: 'INVALID_INPUT', message: 'Cannot cancel: it is past its point of no return.' }, 'Could not cancel:');
    expect(joined.text).toBe('Could not cancel: Cannot cancel: it is past its point of no return.');
    expect(joined.text).not.toMatch(/[.:]{2}/);
    const stopped = render({ code: 'INTERNAL', message: 'boom.' }, 'Could not read the vault.');
    expect(stopped.text).toBe('Could not read the vault. Boom.');
  });
});
