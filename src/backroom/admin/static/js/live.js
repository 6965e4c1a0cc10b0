// Live updates for a view: the event stream (GET /api/v1/events) when the
// server has it, otherwise polling. A server without the endpoint answers 404;
// then `onTick` runs every POLL_MS instead, so the view still updates itself.
import { accessToken, refresh } from "./auth.js";
import { readStream } from "./sse.js";

export const POLL_MS = 5000;
const RETRY_MS = 3000;

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

async function poll({ signal, onTick }) {
  while (!signal.aborted) {
    await sleep(POLL_MS, signal);
    if (!signal.aborted) await onTick();
  }
}

/**
 * Follow the server's events until `signal` aborts.
 * onEvent({id, type, timestamp, data}); onMode("live" | "reconnecting" | "polling" | "off").
 */
export async function follow({ types, signal, onEvent, onTick, onMode }) {
  const url = `/api/v1/events${types ? `?types=${types.join(",")}` : ""}`;
  let lastId = null;
  let retry = RETRY_MS;
  while (!signal.aborted) {
    const token = await accessToken();
    if (!token) return onMode("off");
    let result;
    try {
      result = await readStream(url, {
        token,
        lastId,
        signal,
        onOpen: () => onMode("live"),
        onMessage: (message) => {
          try {
            onEvent(JSON.parse(message.data));
          } catch {
            // Not JSON: not one of ours; skip it.
          }
        },
      });
    } catch {
      if (signal.aborted) return undefined;
      result = { status: 0, lastId, retry: null }; // network error: try again
    }
    lastId = result.lastId || lastId;
    retry = result.retry || retry;
    if (result.status === 404) {
      onMode("polling");
      return poll({ signal, onTick });
    }
    if (result.status === 401 && !(await refresh())) return onMode("off");
    if (result.status === 403) return onMode("off");
    onMode("reconnecting");
    if (result.status === 200) await onTick(); // caught up on anything a replay would miss
    await sleep(retry, signal);
  }
  return undefined;
}
