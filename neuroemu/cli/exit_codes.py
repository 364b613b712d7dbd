"""Exit statuses of the command line, shared by the commands and the group that runs them."""

from __future__ import annotations

import signal

# A run stopped by Ctrl-C, as a shell reports it: 128 + SIGINT.
EXIT_INTERRUPTED = 128 + signal.SIGINT
