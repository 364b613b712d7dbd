""":class:`EnergyReport`: one type for the energy and time of a run on a chip or on a GPU.

The chip side (:func:`neuroemu.accounting.pricing.estimate_energy`) and the GPU side
(:mod:`neuroemu.gpu.model`) both return it, so reports and comparisons line up field by field.
Energies are in pJ and times in seconds; a part that could not be priced (the descriptor marks it
unknown) is listed in ``unpriced`` and makes the totals ``None``, never zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)
class EnergyReport:
    """Energy and time of executing one simulation on one device.

    Attributes
    ----------
    device : str
        Descriptor name (``loihi``, ``h100``).
    device_kind : str
        ``chip`` or ``gpu``.
    style : str
        Chips: the descriptor's accounting (``marginal`` or ``amortised``). GPUs: the execution
        style (``event-driven`` or ``dense``).
    method : str
        ``model`` (an estimate) or ``measured`` (NVML).
    scope : str
        What the energy covers: ``chip`` (the chips used), ``board`` (a GPU board, as NVML
        measures) or ``wall`` (board plus host).
    simulated_ms : float
        Biological time simulated.
    time_s : float
        Time the device takes to run it (latency model or measurement).
    dynamic_pj : dict
        Energy per part: for chips one entry per event kind, for GPUs one per kernel or term.
        ``None`` for a part that could not be priced.
    static_pj : float or None
        Static (idle) energy over ``time_s``; 0 for amortised descriptors.
    per_core_pj : ndarray or None
        Dynamic energy per core (chips only), ``None`` when some part is unpriced.
    counts : dict
        Events behind the energy (kind -> total), for energy-per-event figures.
    unpriced : tuple
        Parts with events but no known energy.
    n_inferences : float or None
        Number of inferences in the run, where the model defines them.
    notes : tuple
        Caveats to print with the report (power cap reached, real-time overrun...).
    operating_point : str
        How the device was run (``fast``, ``real-time``, ``slowdown=20``, ``rate=300``).
    low, high : EnergyReport or None
        The same report priced at the low and the high end of the descriptor's ranges; None
        when the descriptor gives no ranges (both ends are then the value).
    """

    device: str
    device_kind: str
    style: str
    method: str
    scope: str
    simulated_ms: float
    time_s: float
    dynamic_pj: dict[str, float | None]
    static_pj: float | None
    counts: dict[str, int] = field(default_factory=dict)
    per_core_pj: np.ndarray | None = None
    unpriced: tuple[str, ...] = ()
    n_inferences: float | None = None
    notes: tuple[str, ...] = ()
    operating_point: str = ""
    low: EnergyReport | None = None
    high: EnergyReport | None = None

    def __repr__(self) -> str:
        # The default repr printed every per-core array (5,647 characters for a small run).
        total = "unpriced" if self.total_j is None else f"{self.total_j:.4g} J"
        return (
            f"<EnergyReport {self.device} ({self.device_kind}, {self.style}, {self.scope} scope): "
            f"{total} for {self.simulated_ms:g} ms simulated, {self.time_s:.4g} s on device>"
        )

    def _repr_html_(self) -> str:
        """A short HTML table for notebooks (Jupyter shows it in place of the repr)."""
        from neuroemu.notebook import energy_report_html

        return energy_report_html(self)

    def to_dataframe(self) -> Any:
        """Energy per part (event kind or GPU term, and static) as a pandas DataFrame, with
        the low and high ends of its range; pandas is imported only here."""
        from neuroemu.dataframes import to_dataframe

        def part_of(report: EnergyReport | None, part: str) -> float | None:
            if report is None:
                return None
            return report.static_pj if part == "static" else report.dynamic_pj.get(part)

        rows = []
        for part in [*self.dynamic_pj, "static"]:
            value = part_of(self, part)
            low = value if self.low is None else part_of(self.low, part)
            high = value if self.high is None else part_of(self.high, part)
            rows.append({"part": part, "energy_pj": value, "low_pj": low, "high_pj": high})
        return to_dataframe(rows, index="part")

    def bounds(self, name: str) -> tuple[float | None, float | None, float | None]:
        """``(value, low, high)`` of a figure (``'total_j'``, ``'time_s'``...); the ends equal
        the value when the descriptor gives no ranges."""
        value = getattr(self, name)
        low = value if self.low is None else getattr(self.low, name)
        high = value if self.high is None else getattr(self.high, name)
        return value, low, high

    @property
    def dynamic_total_pj(self) -> float | None:
        if any(v is None for v in self.dynamic_pj.values()):
            return None
        return float(sum(v for v in self.dynamic_pj.values() if v is not None))

    @property
    def total_pj(self) -> float | None:
        """Dynamic plus static energy, or ``None`` when any part is unpriced."""
        dynamic = self.dynamic_total_pj
        if dynamic is None or self.static_pj is None:
            return None
        return dynamic + self.static_pj

    @property
    def total_j(self) -> float | None:
        total = self.total_pj
        return None if total is None else total * 1e-12

    @property
    def synaptic_events(self) -> int:
        return int(self.counts.get("synaptic_event", 0))

    @property
    def energy_per_synaptic_event_pj(self) -> float | None:
        """Total energy divided by synaptic events (the field's usual figure of merit)."""
        total = self.total_pj
        if total is None or self.synaptic_events == 0:
            return None
        return total / self.synaptic_events

    @property
    def energy_per_simulated_second_j(self) -> float | None:
        total = self.total_j
        if total is None or self.simulated_ms <= 0:
            return None
        return total / (self.simulated_ms * 1e-3)

    @property
    def energy_per_inference_j(self) -> float | None:
        total = self.total_j
        if total is None or not self.n_inferences:
            return None
        return total / self.n_inferences

    @property
    def power_w(self) -> float | None:
        total = self.total_j
        return None if total is None or self.time_s <= 0 else total / self.time_s

    @property
    def real_time_factor(self) -> float | None:
        """Simulated time over device time: > 1 means faster than real time."""
        return None if self.time_s <= 0 else (self.simulated_ms * 1e-3) / self.time_s

    @property
    def energy_delay_product_js(self) -> float | None:
        """Energy x time-on-device, in J*s."""
        total = self.total_j
        return None if total is None else total * self.time_s

    def summary(self) -> dict[str, object]:
        """Flat dict of the headline figures (for JSON output and result tables)."""
        return {
            "device": self.device,
            "device_kind": self.device_kind,
            "style": self.style,
            "method": self.method,
            "scope": self.scope,
            "simulated_ms": self.simulated_ms,
            "time_s": self.time_s,
            "total_j": self.total_j,
            "static_j": None if self.static_pj is None else self.static_pj * 1e-12,
            "dynamic_j": None if self.dynamic_total_pj is None else self.dynamic_total_pj * 1e-12,
            "energy_per_synaptic_event_pj": self.energy_per_synaptic_event_pj,
            "energy_per_simulated_second_j": self.energy_per_simulated_second_j,
            "energy_per_inference_j": self.energy_per_inference_j,
            "energy_delay_product_js": self.energy_delay_product_js,
            "real_time_factor": self.real_time_factor,
            "synaptic_events": self.synaptic_events,
            "unpriced": list(self.unpriced),
            "notes": list(self.notes),
            "operating_point": self.operating_point,
            "range": {
                name: list(self.bounds(name)[1:])
                for name in ("total_j", "time_s", "energy_per_synaptic_event_pj")
            },
        }
