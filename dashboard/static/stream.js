// A reader of the server's Server-Sent Events stream of new alerts.
//
// It uses fetch and a streaming body instead of EventSource because
// EventSource cannot send an Authorization header. It follows the SSE
// format (fields, comments, multi-line data, CR/LF/CRLF line ends) and, on
// reconnecting, sends the last event id it saw as Last-Event-ID, so the
// server resumes with no gap and no repeat.

import { errorOf, headers, url, AuthError } from './api.js';

const maxDelay = 10000;

export class AlertStream {
  // params: the filters (URLSearchParams); handlers: onAlert(alert, id),
  // onState('live' | 'reconnecting' | 'stopped'), onAuth(err).
  constructor(params, handlers) {
    this.params = params;
    this.handlers = handlers;
    this.lastId = '';
    this.stopped = false;
    this.abort = new AbortController();
    this.run();
  }

  stop() {
    this.stopped = true;
    this.abort.abort();
  }

  async run() {
    let delay = 250;
    while (!this.stopped) {
      try {
        const h = headers('text/event-stream');
        if (this.lastId) {
          h.set('Last-Event-ID', this.lastId);
        }
        const resp = await fetch(url('/v1/stream', this.params), {
          headers: h,
          signal: this.abort.signal,
          cache: 'no-store',
          credentials: 'same-origin',
        });
        if (!resp.ok || !resp.body) {
          throw await errorOf(resp);
        }
        this.handlers.onState('live');
        delay = 250;
        await this.read(resp.body);
      } catch (err) {
        if (this.stopped) {
          return;
        }
        if (err instanceof AuthError) {
          this.handlers.onState('stopped');
          this.handlers.onAuth(err);
          return;
        }
        console.warn('alert stream:', err);
      }
      if (this.stopped) {
        return;
      }
      this.handlers.onState('reconnecting');
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, maxDelay);
    }
  }

  // read parses the event stream until it ends.
  async read(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    let ev = newEvent();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        return;
      }
      buf += value;
      for (;;) {
        const i = buf.search(/[\r\n]/);
        if (i < 0) {
          break;
        }
        if (buf[i] === '\r' && i + 1 === buf.length) {
          break; // a CR at the end of a chunk may be half of a CRLF
        }
        const line = buf.slice(0, i);
        buf = buf.slice(buf[i] === '\r' && buf[i + 1] === '\n' ? i + 2 : i + 1);
        if (line === '') {
          this.dispatch(ev);
          ev = newEvent();
        } else {
          field(ev, line);
        }
      }
    }
  }

  dispatch(ev) {
    if (ev.id !== null) {
      this.lastId = ev.id;
    }
    if (ev.data.length === 0 || (ev.event !== '' && ev.event !== 'alert')) {
      return;
    }
    let alert;
    try {
      alert = JSON.parse(ev.data.join('\n'));
    } catch (err) {
      console.warn('alert stream: an event that is not JSON:', err);
      return;
    }
    if (alert && typeof alert === 'object' && !Array.isArray(alert)) {
      this.handlers.onAlert(alert, this.lastId);
    }
  }
}

function newEvent() {
  return { id: null, event: '', data: [] };
}

// field applies one non-empty line of the stream to the event being read.
function field(ev, line) {
  if (line[0] === ':') {
    return; // a comment (the server's keepalive)
  }
  const colon = line.indexOf(':');
  const name = colon < 0 ? line : line.slice(0, colon);
  let value = colon < 0 ? '' : line.slice(colon + 1);
  if (value[0] === ' ') {
    value = value.slice(1);
  }
  switch (name) {
    case 'id':
      if (!value.includes('\0')) {
        ev.id = value;
      }
      break;
    case 'event':
      ev.event = value;
      break;
    case 'data':
      ev.data.push(value);
      break;
    default:
      break; // retry and unknown fields: ignored
  }
}
