"""What a session that stops reading its websocket may hold: at most QUEUED_BYTES of messages, then it goes.

Streamlit queues each session's outgoing messages until its socket takes them, up to 500 messages
whatever their size (``starlette_websocket.WEBSOCKET_MAX_SEND_QUEUE_SIZE``): a client that asks for
pages and never reads held about 170 MB of charts. Past QUEUED_BYTES the session is disconnected, as
Streamlit does itself when its queue is full; a browser that was only slow reconnects and gets its
view back from its URL. Applied once per process, to the class itself, so sessions already open are
bounded too.
"""

import asyncio
import contextlib

from streamlit.logger import get_logger
from streamlit.runtime.session_manager import SessionClientDisconnectedError
from streamlit.web.server.starlette import starlette_websocket

DROPPED = "A session stopped reading its websocket"  # the log says it, with what it held
QUEUED_BYTES = 24 * 2**20  # a whole page of MiniLM's largest charts is about 15 MB
_LOGGER = get_logger(__name__)
_CHECK_FROM = 16  # messages: a shorter queue is a client reading normally, not worth adding up


def _drop(client):  # what it queued is let go, and its socket closed: the memory comes back now
    client._closed.set()  # as Streamlit does when its own queue is full
    queue = client._send_queue
    while not queue.empty():
        queue.get_nowait()
    sender = getattr(client, "_sender_task", None)
    if sender is not None:
        sender.cancel()  # it waits on a socket that takes nothing
    websocket = getattr(client, "_websocket", None)
    if websocket is not None:  # 1013: try again later; the close does not wait for the client to read
        asyncio.get_running_loop().create_task(_close(websocket))


async def _close(websocket):
    with contextlib.suppress(Exception):  # it may be closing already
        await websocket.close(code=1013)


def bound_send_queues():
    client = starlette_websocket.StarletteSessionClient
    if getattr(client, "bounded_by_bytes", False):
        return
    write = client.write_forward_msg

    def write_forward_msg(self, msg):  # on the event loop's thread, as Streamlit calls it
        queue = self._send_queue
        if queue.qsize() >= _CHECK_FROM and (queued := sum(map(len, queue._queue))) > QUEUED_BYTES:
            _LOGGER.warning("%s (%.0f MB unsent): %s", DROPPED, queued / 2**20, "the session was dropped")
            _drop(self)
            raise SessionClientDisconnectedError  # Streamlit then disconnects the session
        write(self, msg)

    client.write_forward_msg = write_forward_msg
    client.bounded_by_bytes = True
