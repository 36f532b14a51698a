import type { ReactNode, SVGProps } from 'react';
import type { AppKind } from '../../shared/installations';
import { useAppLabel } from '../lib/app-labels';

type IconProps = SVGProps<SVGSVGElement>;

/** Line icons on a 24-unit grid; they take currentColor and are hidden from screen readers. */
function Svg(props: IconProps & { children: ReactNode }): ReactNode {
  const { children, ...rest } = props;
  return (
    <svg viewBox="0 0 24 24" width="18" height="18" fill="none" stroke="currentColor" strokeWidth="1.7" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true" focusable="false" {...rest}>
      {children}
    </svg>
  );
}

export const FleetIcon = (p: IconProps): ReactNode => (
  <Svg {...p}>
    <rect x="3" y="4" width="18" height="6" rx="1.5" />
    <rect x="3" y="14" width="18" height="6" rx="1.5" />
    <path d="M7 7h.01M7 17h.01" />
  </Svg>
);

export const VaultIcon = (p: IconProps): ReactNode => (
  <Svg {...p}>
    <rect x="3" y="4" width="18" height="16" rx="2" />
    <circle cx="12" cy="12" r="3.5" />
    <path d="M12 8.5V7M12 17v-1.5M15.5 12H17M7 12h1.5" />
  </Svg>
);

export const ActivityIcon = (p: IconProps): ReactNode => (
  <Svg {...p}>
    <path d="M3 12h4l3-7 4 14 3-7h4" />
  </Svg>
);

export const SettingsIcon = (p: IconProps): ReactNode => (
  <Svg {...p}>
    <path d="M4 7h10M18 7h2M4 17h4M12 17h8" />
    <circle cx="16" cy="7" r="2" />
    <circle cx="10" cy="17" r="2" />
  </Svg>
);

export const PlusIcon = (p: IconProps): ReactNode => (
  <Svg {...p}>
    <path d="M12 5v14M5 12h14" />
  </Svg>
);

export const LockIcon = (p: IconProps): ReactNode => (
  <Svg {...p}>
    <rect x="5" y="10.5" width="14" height="10" rx="2" />
    <path d="M8 10.5V7.5a4 4 0 0 1 8 0v3M12 14.5v2.5" />
  </Svg>
);

export const ShieldAlertIcon = (p: IconProps): ReactNode => (
  <Svg {...p}>
    <path d="M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6z" />
    <path d="M12 8v5M12 16h.01" />
  </Svg>
);

/** The Lifeboat mark: the lifebuoy of resources/icon.svg, drawn small. */
export const LifeboatMark = (p: IconProps): ReactNode => (
  <svg viewBox="0 0 512 512" width="22" height="22" aria-hidden="true" focusable="false" {...p}>
    <rect width="512" height="512" rx="112" fill="#0f2a44" />
    <circle cx="256" cy="256" r="168" fill="none" stroke="#f4f7fb" strokeWidth="72" />
    <g stroke="#e5484d" strokeWidth="74" fill="none">
      <path d="M256 88 A168 168 0 0 1 375 137" />
      <path d="M424 256 A168 168 0 0 1 375 375" />
      <path d="M256 424 A168 168 0 0 1 137 375" />
      <path d="M88 256 A168 168 0 0 1 137 137" />
    </g>
  </svg>
);

/** One glyph per app kind; the colour comes from CSS (`.app-icon-<kind>`). */
const APP_GLYPHS: Partial<Record<AppKind, ReactNode>> = {
  // A meeting recorder: a microphone.
  nojoin: (
    <>
      <rect x="9" y="3.5" width="6" height="10" rx="3" />
      <path d="M6 11a6 6 0 0 0 12 0M12 17v3.5" />
    </>
  ),
  // A stream: three waves.
  weavestream: <path d="M3 8c3-2 6 2 9 0s6-2 9 0M3 12.5c3-2 6 2 9 0s6-2 9 0M3 17c3-2 6 2 9 0s6-2 9 0" />,
  // Group discussion: two speech bubbles.
  loomio: (
    <>
      <path d="M4 5h10a1.5 1.5 0 0 1 1.5 1.5v5A1.5 1.5 0 0 1 14 13H9l-3 2.5V13H4a1.5 1.5 0 0 1-1.5-1.5v-5A1.5 1.5 0 0 1 4 5z" />
      <path d="M18 9h2a1.5 1.5 0 0 1 1.5 1.5v5A1.5 1.5 0 0 1 20 17h-1v2.5L16 17h-4" />
    </>
  ),
  // A radio mesh: linked nodes.
  meshmonitor: (
    <>
      <circle cx="5" cy="6" r="2" />
      <circle cx="19" cy="7" r="2" />
      <circle cx="12" cy="18" r="2" />
      <circle cx="12" cy="10" r="1.6" />
      <path d="M6.8 6.7l3.7 2.6M17.2 7.6l-3.7 1.8M12 11.6v4.4M6 7.8l5 8.6M18 8.8l-5 7.6" />
    </>
  ),
  // Database dumps: a cylinder.
  dbackup: (
    <>
      <ellipse cx="12" cy="5.5" rx="7" ry="2.5" />
      <path d="M5 5.5v13c0 1.4 3.1 2.5 7 2.5s7-1.1 7-2.5v-13M5 12c0 1.4 3.1 2.5 7 2.5s7-1.1 7-2.5" />
    </>
  ),
  // A plain folder of archives.
  directory: <path d="M3 6.5A1.5 1.5 0 0 1 4.5 5H9l2 2.5h8.5A1.5 1.5 0 0 1 21 9v9.5a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 18.5z" />,
};

/** The icon of an installation's app, in a tinted tile; labelled for screen readers. */
export function AppIcon(props: { app: AppKind; size?: number }): ReactNode {
  const size = props.size ?? 32;
  const label = useAppLabel(props.app);
  return (
    <span className={`app-icon app-icon-${props.app}`} role="img" aria-label={label} style={{ width: size, height: size }}>
      <Svg width={size * 0.6} height={size * 0.6}>
        {APP_GLYPHS[props.app] ?? APP_GLYPHS.directory}
      </Svg>
    </span>
  );
}
