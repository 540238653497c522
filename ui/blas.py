"""One BLAS thread per server process, as the Docker image's ``OPENBLAS_NUM_THREADS=1`` has it.

A server's parallelism is its sessions: their matrix products run in Streamlit's script threads, several
at once. OpenBLAS's own threads (one per core by default) on top of them fight for the same cores, and
spin while they wait: on this 2-core machine, busy with other work, a page's first run with SmolLM2
(its forward pass) took 1.6 s with two BLAS threads and 0.35 s with one. Streamlit has loaded NumPy,
and with it OpenBLAS, before any page runs, so the limit is set at run time by ``threadpoolctl``. The
setting is the process's; threadpoolctl lets one living thread at a time change it, so every run asks.
"""

from threadpoolctl import ThreadpoolController

_controller = ThreadpoolController()  # finds the BLAS libraries loaded now (NumPy's), once


def one_thread():  # a few microseconds
    _controller.limit(limits=1, user_api="blas")
