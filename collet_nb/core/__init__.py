"""The pure core of collet_nb: sessions, messages, events, budget and guard.

Sans-I/O: nothing here opens files or sockets, reads the clock or the environment, or imports
IPython, ipywidgets, httpx2 or mcp. Time and I/O come in through the Protocols in ``ports``.
"""
