"""Sweeps: grids of models x chips x overrides x seeds run on Dask, resumable, with tables.

``load_sweep`` reads a sweep file (:mod:`.spec`), ``run_sweep`` runs it (:mod:`.runner`, with
:mod:`.execute` the only Dask importer), :mod:`.results` keeps the journal and writes the tables
(the only pyarrow importer), and :mod:`.plots` draws them.
"""

from neuroemu.sweep.runner import SweepOutcome, run_sweep
from neuroemu.sweep.spec import Sweep, load_sweep

__all__ = ["Sweep", "SweepOutcome", "load_sweep", "run_sweep"]
