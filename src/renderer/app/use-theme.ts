import { useEffect } from 'react';
import { useStore } from '../stores/store';

/** Puts the chosen theme on <html data-theme>; 'system' leaves it to prefers-color-scheme in CSS. */
export function useApplyTheme(): void {
  const theme = useStore((s) => s.ui.theme);
  useEffect(() => {
    const root = document.documentElement;
    if (theme === 'system') delete root.dataset.theme;
    else root.dataset.theme = theme;
  }, [theme]);
}
