import type { AppModuleInfo } from '../../shared/apps';
import { useStore } from '../stores/store';

/** The module of an app kind, as the core described it; undefined until loaded or for an unknown kind. */
export function useAppModule(kind: string | null | undefined): AppModuleInfo | undefined {
  return useStore((s) => s.system.modules.find((m) => m.kind === kind));
}

/** The human name of an app kind ("Weavestream"), the kind itself until the modules are loaded. */
export function useAppLabel(kind: string | null | undefined): string {
  const module = useAppModule(kind);
  return kind ? (module?.label ?? kind) : 'app not recorded';
}
