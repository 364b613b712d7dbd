"""Keep Brian2's cpp_standalone device from holding several copies of every synapse.

For each synapse created from arrays (``Synapses.connect(i=, j=)``) and each per-synapse value
set from an array (weights, delays), Brian2's standalone device keeps, by default:

- in Python, until the device is reset: a "static array" copy of the values (to be written to
  the build directory) and, for connect, cached copies of the source and target indices and of
  the resulting pre/post indices (about 32 bytes per synapse in all);
- in the compiled binary, for the whole run: the static arrays loaded from disk, and two
  ``sources``/``targets`` arrays that were needed only to create the synapses (about 32 bytes
  per synapse more than the synapses' own state).

At the full-scale Potjans-Diesmann microcircuit (0.3e9 synapses) those copies are ~19 GB, and
the run did not fit in 24 GB. They are needed only while the network is set up, so this module
releases them at that point:

- :meth:`StandaloneReleaser.after_setup_step` is called after each ``connect`` or array
  assignment; it inserts C++ lines into Brian2's ``main`` (``device.insert_code``) that free the
  step's static arrays once they have been copied, and that swap the creation-only index arrays
  for fresh, never-touched allocations of the same size (Brian2 still writes them to its results
  directory at the end; untouched pages cost no memory), and drops the step's large
  Python-side caches;
- :meth:`StandaloneReleaser.after_build` drops the Python-side static arrays once ``build``
  has written them to disk, before the binary starts.

Nothing here changes what is simulated: the freed arrays are only read by set-up code that has
already run. The device object is passed in, so this module does not import Brian2.
"""

from __future__ import annotations

import contextlib
import ctypes
from typing import Any

import numpy as np

# Arrays smaller than this are left alone: freeing them saves nothing worth the lines of code.
MIN_ELEMENTS = 100_000

_CREATION_VARIABLES = ("sources", "targets", "_synaptic_pre", "_synaptic_post")
_C_TYPES = {np.dtype(np.int32): "int32_t", np.dtype(np.int64): "int64_t"}


class StandaloneReleaser:
    """Frees set-up-only copies of synapse arrays on a Brian2 ``CPPStandaloneDevice``."""

    def __init__(self, device: Any, min_elements: int | None = None) -> None:
        self.device = device
        self.min_elements = MIN_ELEMENTS if min_elements is None else min_elements
        self._seen_static = set(device.static_arrays)
        self._seen_arrays = set(device.arrays.values())
        self.released_static_bytes = 0

    def after_setup_step(self) -> None:
        """Release what the set-up operations since the last call needed only once."""
        device = self.device
        lines = []
        for name in sorted(set(device.static_arrays) - self._seen_static):
            values = device.static_arrays[name]
            self._seen_static.add(name)
            if values.size >= self.min_elements and name not in device.dynamic_arrays.values():
                # _dealloc_arrays skips null pointers, so the end of main stays correct.
                lines.append(f"delete [] {name}; {name} = 0;")
        for var, name in list(device.arrays.items()):
            if name in self._seen_arrays:
                continue
            self._seen_arrays.add(name)
            c_type = _C_TYPES.get(np.dtype(var.dtype))
            creation_only = var.name in ("sources", "targets") and not hasattr(var, "resize")
            if creation_only and c_type and var.size >= self.min_elements:
                lines.append(f"delete [] {name}; {name} = new {c_type}[{var.size}];")
        if lines:
            device.insert_code("main", "\n".join(["// neuroemu: free set-up copies", *lines]))
        self._drop_python_caches()

    def after_build(self) -> None:
        """Drop Python's copies of the static arrays once ``build`` has written them."""
        released = 0
        for name, values in self.device.static_arrays.items():
            if values.size >= self.min_elements:
                released += values.nbytes
                # a new empty array, not values[:0]: a view would keep the data alive
                self.device.static_arrays[name] = np.empty(0, dtype=values.dtype)
        self._drop_python_caches()
        self.released_static_bytes += released
        if released:
            _return_freed_memory()

    def _drop_python_caches(self) -> None:
        # Only the creation arrays: other cached values (a clock's dt, a Synapses' N) are read
        # again while the network is set up. A cached _synaptic_pre would be appended to by a
        # second connect() on the same Synapses; the engine connects each Synapses once.
        cache = self.device.array_cache
        for var, values in list(cache.items()):
            if (
                var.name in _CREATION_VARIABLES
                and isinstance(values, np.ndarray)
                and values.size >= self.min_elements
            ):
                cache[var] = None


def _return_freed_memory() -> None:
    """Give freed heap memory back to the system before the binary starts (glibc only).

    Arrays below glibc's mmap threshold (up to 32 MB) live on the heap, and glibc keeps their
    memory after they are freed: at 60 M synapses Python's resident size stayed at 2.2 GB after
    releasing the static arrays, and fell to 1.1 GB after ``malloc_trim``. Elsewhere this does
    nothing.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
