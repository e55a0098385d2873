/** The sidebar's tab icon: a speech bubble with a loop arrow (the agent's relentless loop). */

import { LabIcon } from '@jupyterlab/ui-components';

const SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16" height="16">
<path class="jp-icon3" fill="#616161" d="M4 3h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm8 3.2a3.8 3.8 0 1 0 3.6 5h-1.7a2.2 2.2 0 1 1-.5-2.6L12 10h4V6l-1.5 1.4A3.8 3.8 0 0 0 12 6.2z"/>
</svg>`;

export const colletIcon = new LabIcon({ name: 'collet-nb:sidebar', svgstr: SVG });
