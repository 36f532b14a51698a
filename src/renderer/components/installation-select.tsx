import type { ReactNode, SelectHTMLAttributes } from 'react';
import type { Installation } from '../../shared/installations';

/** A choice of one installation, or none (the first option, labelled `noneLabel`). */
export function InstallationSelect(
  props: { installations: readonly Pick<Installation, 'id' | 'name'>[]; value: string; onChange: (id: string) => void; noneLabel: string } & Omit<SelectHTMLAttributes<HTMLSelectElement>, 'value' | 'onChange'>,
): ReactNode {
  const { installations, value, onChange, noneLabel, ...rest } = props;
  return (
    <select {...rest} value={value} onChange={(e) => onChange(e.target.value)}>
      <option value="">{noneLabel}</option>
      {installations.map((i) => (
        <option key={i.id} value={i.id}>
          {i.name}
        </option>
      ))}
    </select>
  );
}
