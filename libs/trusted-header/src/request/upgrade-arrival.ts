import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * The requests Node hands to the server's `upgrade` and `connect` listeners instead of its `request` listener:
 * a WebSocket handshake (ws, socket.io, `@nestjs/platform-ws`) or a CONNECT. They reach neither the adapter nor
 * any middleware, so nothing else inspects them before the gateway reads their headers.
 */
const BYPASSING_EVENTS = ['upgrade', 'connect'] as const;
type BypassingEvent = (typeof BYPASSING_EVENTS)[number];

type BypassListener = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * Inspects every upgrade and CONNECT request before the server's other listeners for it run, so identity headers
 * of an untrusted peer are gone before a WebSocket gateway (or anything else listening there) sees the
 * handshake. If the inspection fails, the connection is closed: these requests get no later inspection that
 * could refuse them.
 *
 * The inspection listens only while another listener does. Without one Node treats an upgrade request as an
 * ordinary request (which the `request` path inspects) and closes a CONNECT; a listener of the library's own
 * would take both away from that and leave the connection open with nobody to answer it. Listeners added or
 * removed later, by `on` or `prependListener`, are followed: the inspection is put back in front of them before
 * the server can read another request (a microtask after the change).
 *
 * Returns false, and changes nothing, when there is no server to listen on.
 */
export function inspectBypassingRequests(
  server: unknown,
  inspect: (request: IncomingMessage) => void,
  refuse: (request: IncomingMessage, error: unknown) => void,
): boolean {
  if (!(server instanceof EventEmitter)) return false;
  const inspectFirst: BypassListener = (request, socket) => {
    try {
      inspect(request);
    } catch (error) {
      socket.destroy();
      refuse(request, error);
    }
  };
  let pending = false;
  /** Puts the inspection first among the listeners of each event, or takes it away where it is alone. */
  const reconcile = () => {
    pending = false;
    for (const event of BYPASSING_EVENTS) place(server, event, inspectFirst);
  };
  const follow = (event: string | symbol, listener: unknown) => {
    if (listener === inspectFirst || pending || !BYPASSING_EVENTS.includes(event as BypassingEvent)) return;
    pending = true;
    queueMicrotask(reconcile);
  };
  // Also right away, ahead of a listener being added now: a request cannot be read before the microtask runs,
  // but code could emit the event itself in between.
  server.on('newListener', (event: string | symbol, listener: unknown) => {
    if (listener !== inspectFirst && BYPASSING_EVENTS.includes(event as BypassingEvent)) {
      if (!server.listeners(event).includes(inspectFirst)) server.prependListener(event, inspectFirst);
    }
    follow(event, listener);
  });
  server.on('removeListener', follow);
  reconcile();
  return true;
}

function place(server: EventEmitter, event: BypassingEvent, inspectFirst: BypassListener): void {
  const listeners = server.listeners(event);
  const others = listeners.filter((listener) => listener !== inspectFirst).length;
  const present = listeners.length > others;
  if (others === 0) {
    if (present) server.removeListener(event, inspectFirst);
    return;
  }
  if (listeners[0] === inspectFirst) return;
  if (present) server.removeListener(event, inspectFirst);
  server.prependListener(event, inspectFirst);
}
