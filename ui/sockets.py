"""What a session that stops reading its websocket may hold: at most QUEUED_BYTES of messages, then it goes.

Streamlit queues each session's outgoing messages until its socket takes them, up to 500 messages
whatever their size (``starlette_websocket.WEBSOCKET_MAX_SEND_QUEUE_SIZE``): a client that asks for
pages and never reads held about 170 MB of charts. Past QUEUED_BYTES the session is disconnected, as
Streamlit does itself when its queue is full; a browser that was only slow reconnects and gets its
view back from its URL. Applied once per process, to the class itself, so sessions already open are
bounded too.
"""

from streamlit.runtime.session_manager import SessionClientDisconnectedError
from streamlit.web.server.starlette import starlette_websocket

QUEUED_BYTES = 24 * 2**20  # a whole page of MiniLM's largest charts is about 15 MB
_CHECK_FROM = 16  # messages: a shorter queue is a client reading normally, not worth adding up


def bound_send_queues():
    client = starlette_websocket.StarletteSessionClient
    if getattr(client, "bounded_by_bytes", False):
        return
    write = client.write_forward_msg

    def write_forward_msg(self, msg):  # on the event loop's thread, as Streamlit calls it
        queue = self._send_queue
        if queue.qsize() >= _CHECK_FROM and sum(map(len, queue._queue)) > QUEUED_BYTES:
            self._closed.set()  # as Streamlit does when its own queue is full
            raise SessionClientDisconnectedError
        write(self, msg)

    client.write_forward_msg = write_forward_msg
    client.bounded_by_bytes = True
