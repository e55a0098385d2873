/**
 * The collet_nb JupyterLab extension: a left-sidebar panel that follows the active notebook
 * and shows its agent session through the `collet` comm (docs/protocol.md), drawn by the same
 * renderer as each cell's message view.
 */

import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ILabShell, ILayoutRestorer } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';
import type { Notebook } from '@jupyterlab/notebook';

import { followMarks } from './cellmarks';
import { colletIcon } from './icon';
import { followDisplays } from './restore';
import { ColletSidebar } from './sidebar';

/** Shows (or hides) the sidebar. */
const TOGGLE = 'collet:toggle-sidebar';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'collet-nb:sidebar',
  description: 'The collet agent session of the active notebook, in the left sidebar.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILayoutRestorer, ICommandPalette, ILabShell],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    labShell: ILabShell | null
  ): void => {
    const sidebar = new ColletSidebar();
    sidebar.title.icon = colletIcon;
    app.shell.add(sidebar, 'left', { rank: 650 });
    restorer?.add(sidebar, sidebar.id);

    sidebar.follow(tracker.currentWidget);
    tracker.currentChanged.connect((_tracker, panel) => {
      sidebar.follow(panel);
    });
    // A cell that ran may have been `%load_ext collet_nb`: try that notebook again.
    NotebookActions.executed.connect((_sender: unknown, args: { notebook: Notebook }) => {
      const panel = tracker.find(p => p.content === args.notebook);
      if (panel !== undefined) {
        sidebar.nudge(panel);
      }
    });

    app.commands.addCommand(TOGGLE, {
      label: 'Collet: Show Agent Sidebar',
      execute: () => {
        if (sidebar.isVisible && labShell !== null) {
          labShell.collapseLeft();
        } else {
          app.shell.activateById(sidebar.id);
        }
      }
    });
    palette?.addItem({ command: TOGGLE, category: 'Collet' });
  }
};

/** Brings outputs restored from the file up to date with their kernel (restore.ts). */
const displays: JupyterFrontEndPlugin<void> = {
  id: 'collet-nb:displays',
  description: 'Applies display updates of collet_nb messages to outputs restored from the file.',
  autoStart: true,
  requires: [INotebookTracker],
  activate: (_app: JupyterFrontEnd, tracker: INotebookTracker): void => {
    tracker.forEach(panel => {
      followDisplays(panel.sessionContext, () => panel.model);
    });
    tracker.widgetAdded.connect((_tracker, panel) => {
      followDisplays(panel.sessionContext, () => panel.model);
    });
  }
};

/** Badges the cells the agent inserted or edited (cellmarks.ts). */
const marks: JupyterFrontEndPlugin<void> = {
  id: 'collet-nb:cell-marks',
  description: 'Marks the notebook cells the collet agent inserted or edited.',
  autoStart: true,
  requires: [INotebookTracker],
  activate: (_app: JupyterFrontEnd, tracker: INotebookTracker): void => {
    tracker.forEach(followMarks);
    tracker.widgetAdded.connect((_tracker, panel) => {
      followMarks(panel);
    });
  }
};

export default [plugin, displays, marks];
