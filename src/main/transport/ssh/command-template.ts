/**
 * Operators' command templates (`docker compose exec …`, `systemctl restart …`): `{name}`
 * placeholders filled with shell-quoted values. An unknown placeholder is refused, since a typo
 * would otherwise run a different command on the server; `${VAR}` stays shell text.
 */
import { LifeboatError } from '../../../shared/errors';
import { shellQuote } from './exec';

/** Values a template may use; a list expands to several quoted words. */
export type TemplateValues = Record<string, string | readonly string[]>;

const PLACEHOLDER = /(?<!\$)\{([A-Za-z]+)\}/g;

/** Fills every `{name}` of the template; INVALID_INPUT names an unknown one and the known ones. */
export function fillCommandTemplate(template: string, values: TemplateValues, what = 'The command template'): string {
  return template.replace(PLACEHOLDER, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) {
      const known = Object.keys(values).map((k) => `{${k}}`).join(', ');
      throw new LifeboatError('INVALID_INPUT', `${what} "${template}" has an unknown placeholder ${whole}; known: ${known}.`, { details: { placeholder: name } });
    }
    return typeof value === 'string' ? shellQuote(value) : value.map(shellQuote).join(' ');
  });
}
