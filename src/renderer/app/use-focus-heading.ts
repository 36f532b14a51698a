import { useEffect } from 'react';

/** The id of the page heading in the top bar, which navigation moves focus to. */
export const PAGE_HEADING_ID = 'page-heading';

/**
 * After every navigation (a fragment change), focus goes to the page heading, so a screen reader
 * announces the new page and Tab continues from its top instead of from <body>.
 */
export function useFocusHeadingOnNavigate(): void {
  useEffect(() => {
    let frame = 0;
    const onChange = (): void => {
      cancelAnimationFrame(frame);
      // After React rendered the new page (the heading's text follows the route).
      frame = requestAnimationFrame(() => document.getElementById(PAGE_HEADING_ID)?.focus({ preventScroll: false }));
    };
    window.addEventListener('hashchange', onChange);
    return () => {
      cancelAnimationFrame(frame);
      window.removeEventListener('hashchange', onChange);
    };
  }, []);
}
