/**
 * The sidebar's link over fake kernel comms: a new comm asks for everything, batches fold into
 * the model, a gap asks again with `seen`, another session starts from nothing, transcripts and
 * replies reach their listeners.
 */

import type { ISessionContext } from '@jupyterlab/apputils';
import { Signal } from '@lumino/signaling';
import { describe, expect, it } from 'vitest';

import { Connection } from '../src/connection';
import type { TranscriptMessage } from '../src/protocol';
import { E, running } from './helpers';

class FakeComm {
  readonly sent: unknown[] = [];
  opened: unknown = null;
  isDisposed = false;
  onMsg: ((msg: { content: { data: unknown } }) => void) | null = null;
  onClose: (() => void) | null = null;
  commsOverSubshells = '';

  open(data: unknown): { done: Promise<void> } {
    this.opened = data;
    return { done: Promise.resolve() };
  }

  send(data: unknown): void {
    this.sent.push(data);
  }

  close(): void {
    this.isDisposed = true;
  }

  /** The kernel sends `data` on this comm. */
  deliver(data: unknown): void {
    this.onMsg?.({ content: { data } });
  }
}

class FakeKernel {
  readonly comms: FakeComm[] = [];
  readonly iopubMessage = new Signal<this, unknown>(this);
  answer: ((comm: FakeComm) => void) | null = null;

  createComm(_target: string): FakeComm {
    const comm = new FakeComm();
    this.comms.push(comm);
    const open = comm.open.bind(comm);
    comm.open = data => {
      const result = open(data);
      this.answer?.(comm); // the kernel answers before the open's reply
      return result;
    };
    return comm;
  }
}

function context(kernel: FakeKernel): ISessionContext {
  const fake = {
    session: { kernel },
    kernelChanged: new Signal(kernel),
    statusChanged: new Signal(kernel)
  };
  return fake as unknown as ISessionContext;
}

const STATUS = (session_id: string): unknown => ({
  protocol_version: 2,
  type: 'status',
  status: { session_id, state: 'idle', busy: false, provider: 'demo', messages: [] }
});

function batch(start: number, events: unknown[]): unknown {
  return { protocol_version: 2, type: 'events', start, events };
}

async function connected(): Promise<{
  connection: Connection;
  comm: FakeComm;
  kernel: FakeKernel;
}> {
  const kernel = new FakeKernel();
  kernel.answer = comm => {
    comm.deliver(STATUS('s1'));
  };
  const connection = new Connection(context(kernel));
  await connection.connect();
  const comm = kernel.comms[0];
  if (comm === undefined) {
    throw new Error('no comm opened');
  }
  return { connection, comm, kernel };
}

describe('the sidebar connection', () => {
  it('opens its comm with hello from 0 and is connected once the snapshot comes', async () => {
    const { connection, comm } = await connected();
    expect(comm.opened).toEqual({ protocol_version: 2, type: 'hello', seen: 0 });
    expect(comm.commsOverSubshells).toBe('disabled');
    expect(connection.state).toBe('connected');
    expect(connection.status?.session_id).toBe('s1');
  });

  it('folds the log into the model and asks again from a gap', async () => {
    const { connection, comm } = await connected();
    const events = [...running('m1', 'hi'), E.text('m1', 'Hello')];
    comm.deliver(batch(0, events.slice(0, 3)));
    comm.deliver(batch(4, events.slice(4)));
    expect(connection.conversation.seen).toBe(3);
    expect(comm.sent).toMatchObject([{ protocol_version: 2, type: 'hello', seen: 3 }]);
    comm.deliver(batch(3, events.slice(3)));
    expect(connection.conversation.seen).toBe(5);
    expect(connection.conversation.message('m1')?.status).toBe('running');
  });

  it('starts from nothing when the kernel follows another session', async () => {
    const { connection, comm } = await connected();
    comm.deliver(batch(0, running('m1')));
    comm.deliver(STATUS('s2'));
    expect(connection.conversation.seen).toBe(0);
    comm.deliver(batch(0, running('m1', 'other')));
    expect(connection.conversation.message('m1')?.text).toBe('other');
  });

  it('sends actions and resolves them with their reply', async () => {
    const { connection, comm } = await connected();
    const reply = connection.action({
      protocol_version: 2,
      type: 'action',
      request_id: 'x1',
      action: 'cancel',
      message_id: 'm1'
    });
    expect(comm.sent).toEqual([
      { protocol_version: 2, type: 'action', request_id: 'x1', action: 'cancel', message_id: 'm1' }
    ]);
    comm.deliver({
      protocol_version: 2,
      type: 'reply',
      request_id: 'x1',
      ok: true,
      text: 'cancelled m1'
    });
    await expect(reply).resolves.toMatchObject({ ok: true, text: 'cancelled m1' });
  });

  it('hands transcripts to its listeners', async () => {
    const { connection, comm } = await connected();
    const got: TranscriptMessage[] = [];
    connection.transcript.connect((_sender, transcript) => {
      got.push(transcript);
    });
    comm.deliver({ protocol_version: 2, type: 'transcript', message_id: 'm1', markdown: '**m1**' });
    expect(got).toMatchObject([{ message_id: 'm1', markdown: '**m1**' }]);
  });

  it('says a kernel of another protocol is incompatible', async () => {
    const kernel = new FakeKernel();
    kernel.answer = comm => {
      comm.deliver({ protocol_version: 1, type: 'status', status: {} });
    };
    const connection = new Connection(context(kernel));
    await connection.connect();
    expect(connection.state).toBe('incompatible');
    expect(connection.problem).toMatch(/speaks protocol 1/);
  });
});
