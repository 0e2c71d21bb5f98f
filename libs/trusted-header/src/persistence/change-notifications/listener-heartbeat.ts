import type pg from 'pg';

/** How often the listener's connection is asked a trivial question, and how long the answer may take. */
export const HEARTBEAT_INTERVAL_MS = 5_000;
export const HEARTBEAT_TIMEOUT_MS = 3_000;

/**
 * A listening connection only receives, so a link that dies without a FIN or RST (a NAT or firewall that forgets
 * it, a partition) goes unnoticed until TCP keepalive gives up, hours by the operating system's defaults: the
 * instance would believe it hears every change while it hears none. A `SELECT 1` now and then proves the link;
 * no answer in time destroys the socket, and `onDead` starts the reconnect (which drops every cached user).
 * Returns the function that stops it.
 */
export function startHeartbeat(client: pg.Client, onDead: (error: Error) => void): () => void {
  let waiting: NodeJS.Timeout | undefined;
  const beat = setInterval(() => {
    if (waiting !== undefined) return;
    waiting = setTimeout(() => {
      stop();
      destroySocket(client);
      onDead(new Error(`no answer to a heartbeat within ${HEARTBEAT_TIMEOUT_MS} ms`));
    }, HEARTBEAT_TIMEOUT_MS);
    waiting.unref();
    const settled = () => {
      clearTimeout(waiting);
      waiting = undefined;
    };
    // A failed query means a failed connection, which the client reports through its own error event.
    client.query('SELECT 1').then(settled, settled);
  }, HEARTBEAT_INTERVAL_MS);
  beat.unref();
  const stop = () => {
    clearInterval(beat);
    clearTimeout(waiting);
  };
  return stop;
}

/** Ends the connection at once: `end()` would wait for an answer that a dead link never brings. */
function destroySocket(client: pg.Client): void {
  (client as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream?.destroy?.();
}
