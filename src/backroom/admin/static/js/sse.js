// Server-Sent Events over fetch(). EventSource cannot send an Authorization
// header, so the stream is read with a ReadableStream reader and parsed here,
// following the WHATWG event-stream format (fields, comments, multi-line data).

function blank() {
  return { data: [], event: "message" };
}

/** Feed one line to the parser state; returns the state for the next line. */
export function feed(state, line, dispatch) {
  if (line === "") {
    if (state.message.data.length) {
      dispatch({ id: state.lastId, event: state.message.event, data: state.message.data.join("\n") });
    }
    state.message = blank();
    return state;
  }
  if (line.startsWith(":")) return state; // a comment: heartbeats and goodbyes
  const colon = line.indexOf(":");
  const name = colon === -1 ? line : line.slice(0, colon);
  let value = colon === -1 ? "" : line.slice(colon + 1);
  if (value.startsWith(" ")) value = value.slice(1);
  if (name === "data") state.message.data.push(value);
  else if (name === "event") state.message.event = value;
  else if (name === "id" && !value.includes("\0")) state.lastId = value;
  else if (name === "retry" && /^\d+$/.test(value)) state.retry = Number(value);
  return state;
}

/**
 * Read one connection to its end. Resolves { status, lastId, retry }; for a
 * 200 `onOpen` is called first and `onMessage` for every message.
 */
export async function readStream(url, { token, lastId, signal, onOpen, onMessage }) {
  const headers = { Accept: "text/event-stream", Authorization: `Bearer ${token}` };
  if (lastId) headers["Last-Event-ID"] = lastId;
  const response = await fetch(url, { headers, signal, cache: "no-store", credentials: "omit" });
  const state = { message: blank(), lastId, retry: null };
  if (!response.ok || !response.body) {
    response.body?.cancel().catch(() => undefined);
    return { status: response.status, lastId, retry: null };
  }
  onOpen();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop();
    for (const line of lines) feed(state, line, onMessage);
  }
  return { status: response.status, lastId: state.lastId, retry: state.retry };
}
