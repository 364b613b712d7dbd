"""The network in PyTorch on a GPU: the only module that imports ``torch`` (extra ``gpu``).

:class:`TorchSimulation` runs a LIF-family Network event-driven, as GeNN or Brian2CUDA would, so
that :func:`neuroemu.gpu.measure.measure_gpu` can read the board's energy around it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neuroemu.activity import Activity, Spikes
from neuroemu.errors import NeuroEmuError, NoGpuError
from neuroemu.network.network import Network, PoissonInput
from neuroemu.network.neuron_models import state_name
from neuroemu.timesteps import delay_steps
from neuroemu.units import convert, dimension_unit_name, split_unit

MEASURABLE_MODELS = ("lif", "cuba_lif", "coba_lif")


def _import_torch() -> Any:
    try:
        import torch
    except ImportError:
        raise NoGpuError("measuring runs the network in PyTorch: install torch") from None
    return torch


class TorchSimulation:
    """An event-driven PyTorch simulation of a LIF-family network built from the same Network.

    Per step, in Brian2's order: integrate (``lif`` exactly, ``cuba_lif`` and ``coba_lif`` by
    forward Euler; ``v`` frozen while refractory), threshold, propagate (CSR rows of the neurons
    and inputs that spiked, ``index_add_`` into ring-buffer slot ``(t + delay) % depth`` of the
    target variable), apply this step's slot, reset. Inputs replay ``input_spikes`` (the recorded
    input of an Activity) or are drawn on the device.
    """

    def __init__(
        self,
        network: Network,
        n_steps: int,
        dt_ms: float,
        device: str = "cuda",
        seed: int = 0,
        input_spikes: dict[str, Spikes] | None = None,
        record_spikes: bool = False,
    ) -> None:
        self.torch = torch = _import_torch()
        if str(device).startswith("cuda") and not torch.cuda.is_available():
            raise NoGpuError("PyTorch sees no CUDA device")
        self.network, self.n_steps, self.dt_ms = network, n_steps, dt_ms
        self.device, self.record = torch.device(device), record_spikes
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.pops = {p.name: self._population(p) for p in network.populations}
        replay = input_spikes or {}
        self.inputs = {s.name: self._input(s, replay.get(s.name)) for s in network.inputs}
        self.buffers: dict[tuple[str, str], Any] = {}
        self.projections = [self._projection(p) for p in network.projections]
        self.recorded: dict[str, list] = {}

    def _dev(self, array: np.ndarray, dtype: Any) -> Any:
        return self.torch.tensor(np.ascontiguousarray(array), dtype=dtype, device=self.device)

    def _population(self, pop: Any) -> dict[str, Any]:
        model = pop.neuron_model
        if model.name not in MEASURABLE_MODELS:
            raise NeuroEmuError(
                f"population {pop.name!r}: measured mode runs {', '.join(MEASURABLE_MODELS)}, "
                f"not {model.name!r}"
            )
        par: dict[str, Any] = {split_unit(k)[0]: float(v) for k, v in model.parameters.items()}
        rest = par.get("v_rest", par.get("E_l", par["v_reset"]))
        # Parameters given one value per neuron are tensors (in their declared unit, as the
        # scalars are); the engine sets them like initial values, so they are not state here.
        per_neuron = {state_name(k) for k in pop.per_neuron_parameters}
        for key in pop.per_neuron_parameters:
            values = np.asarray(pop.parameters[key], float)
            par[split_unit(state_name(key))[0]] = self._dev(values, self.torch.float32)
        initial = {"v": np.full(pop.size, rest)}
        initial |= {var: np.zeros(pop.size) for var in ("ge", "gi") if var in model.state_units}
        for name, value in pop.initial.items():
            if name in per_neuron:
                continue
            base, unit = split_unit(name)
            if dimension_unit_name(unit) not in ("volt", "1"):
                raise NeuroEmuError(f"population {pop.name!r}: initial {name!r}: unit not handled")
            # State runs in mV; a dimensionless initial value is taken as given.
            to_mv = 1.0 if unit == "1" else convert(1.0, unit, "mV")
            initial[base] = np.broadcast_to(np.asarray(value, float) * to_mv, pop.size)
        tensors = {k: self._dev(v, self.torch.float32) for k, v in initial.items()}
        refractory = par.get("t_refractory", par.get("refractory", 0.0))
        ref_steps = (
            round(refractory / self.dt_ms)
            if isinstance(refractory, float)
            else self.torch.round(refractory / self.dt_ms).to(self.torch.int32)
        )
        return {"model": model.name, "par": par, "initial": tensors, "ref_steps": ref_steps}

    def _input(self, source: Any, replay: Spikes | None) -> dict[str, Any]:
        t = self.torch
        if replay is None and isinstance(source, PoissonInput):
            p = np.broadcast_to(np.asarray(source.rate_hz, float) * self.dt_ms * 1e-3, source.size)
            return {"p": t.tensor(p, dtype=t.float32, device=self.device)}
        if replay is None:
            step = delay_steps(source.times_ms, self.dt_ms)
            replay = Spikes(source.indices[step < self.n_steps], step[step < self.n_steps])
        order = np.argsort(replay.step, kind="stable")
        indptr = np.searchsorted(replay.step[order], np.arange(self.n_steps + 1))
        neurons = t.tensor(replay.neuron[order].astype(np.int64), device=self.device)
        return {"indptr": indptr, "neurons": neurons}

    def _projection(self, proj: Any) -> dict[str, Any]:
        t, post = self.torch, self.pops[proj.post]
        size = {g.name: g.size for g in (*self.network.populations, *self.network.inputs)}[proj.pre]
        var = "v" if post["model"] == "lif" else ("ge" if proj.target == "exc" else "gi")
        sign = -1.0 if post["model"] == "lif" and proj.target == "inh" else 1.0
        delays = np.broadcast_to(delay_steps(proj.delay_ms, self.dt_ms), proj.i.shape)
        key = (proj.post, var)
        depth = max(int(delays.max(initial=0)) + 1, self.buffers.get(key, (0, None))[0])
        self.buffers[key] = (depth, None)
        order = np.argsort(proj.i, kind="stable")
        indptr = np.concatenate([[0], np.cumsum(np.bincount(proj.i, minlength=size))])
        return {
            "pre": proj.pre,
            "key": key,
            "indptr": self._dev(indptr, t.int64),
            "post": self._dev(proj.j[order], t.int64),
            "delay": self._dev(delays[order], t.int64),
            "weight": self._dev(sign * proj.weight[order], t.float32),
        }

    def _reset(self) -> None:
        t = self.torch
        for pop in self.pops.values():
            pop["state"] = {k: v.clone() for k, v in pop["initial"].items()}
            pop["ref"] = t.zeros(len(pop["initial"]["v"]), dtype=t.int32, device=self.device)
        for key, (depth, _) in list(self.buffers.items()):
            n_post = len(self.pops[key[0]]["initial"]["v"])
            self.buffers[key] = (depth, t.zeros((depth, n_post), device=self.device))
        self.recorded = {name: [] for name in (*self.pops, *self.inputs)}

    def _integrate(self, pop: dict[str, Any]) -> Any:
        """Advance one population by one step; return the boolean spike mask."""
        t, s, p, dt = self.torch, pop["state"], pop["par"], self.dt_ms
        pop["ref"] = (pop["ref"] - 1).clamp_(min=0)
        active = pop["ref"] == 0
        v = s["v"]
        if pop["model"] == "lif":
            v_inf = p["v_rest"] + p["v_bias"]
            tau = p["tau_m"]
            decay = float(np.exp(-dt / tau)) if isinstance(tau, float) else t.exp(-dt / tau)
            new_v = v_inf + (v - v_inf) * decay
        elif pop["model"] == "cuba_lif":
            new_v = v + dt * (p["v_rest"] + p["v_bias"] - v + s["ge"] - s["gi"]) / p["tau_m"]
        else:
            drive = (
                s["ge"] * (p["E_e"] - v) + s["gi"] * (p["E_i"] - v) - (v - p["E_l"]) + p["v_bias"]
            )
            new_v = v + dt * drive / p["tau_m"]
        if "ge" in s:
            euler = pop["model"] == "coba_lif"
            for var, tau in (("ge", p["tau_e"]), ("gi", p["tau_i"])):
                s[var] = s[var] * ((1 - dt / tau) if euler else float(np.exp(-dt / tau)))
        s["v"] = t.where(active, new_v, v)
        return (s["v"] > p["v_th"]) & active

    def _step(self, step: int) -> None:
        t = self.torch
        fired, spiked = {}, {}
        for name, pop in self.pops.items():
            fired[name] = self._integrate(pop)
            spiked[name] = t.nonzero(fired[name]).flatten()
        for name, src in self.inputs.items():
            if "p" in src:
                draw = t.rand(len(src["p"]), generator=self.generator, device=self.device)
                spiked[name] = t.nonzero(draw < src["p"]).flatten()
            else:
                spiked[name] = src["neurons"][src["indptr"][step] : src["indptr"][step + 1]]
        for proj in self.projections:
            if len(spiked[proj["pre"]]):
                self._propagate(proj, spiked[proj["pre"]], step)
        for (post, var), (depth, buffer) in self.buffers.items():
            state = self.pops[post]["state"]
            state[var] = state[var] + buffer[step % depth]
            buffer[step % depth].zero_()
        for name, pop in self.pops.items():
            pop["state"]["v"] = t.where(fired[name], pop["par"]["v_reset"], pop["state"]["v"])
            pop["ref"] = t.where(fired[name], pop["ref_steps"], pop["ref"])
        for name, index in spiked.items():
            self.recorded[name].append((index.cpu() if self.record else index, step))

    def _propagate(self, proj: dict[str, Any], index: Any, step: int) -> None:
        t = self.torch
        starts, counts = proj["indptr"][index], proj["indptr"][index + 1] - proj["indptr"][index]
        total = int(counts.sum())
        if total == 0:
            return
        # position k of the gathered rows belongs to spike owner[k] (no repeat_interleave: slow)
        ends, position = t.cumsum(counts, 0), t.arange(total, device=self.device)
        owner = t.searchsorted(ends, position, right=True)
        synapse = starts[owner] + position - (ends - counts)[owner]
        depth, buffer = self.buffers[proj["key"]]
        slot = (step + proj["delay"][synapse]) % depth
        flat = slot * buffer.shape[1] + proj["post"][synapse]
        buffer.view(-1).index_add_(0, flat, proj["weight"][synapse])

    def run(self) -> None:
        """One full run from the initial state (asynchronous on a GPU: call synchronize())."""
        self._reset()
        for step in range(self.n_steps):
            self._step(step)

    def synchronize(self) -> None:
        if self.device.type == "cuda":
            self.torch.cuda.synchronize(self.device)

    def activity(self) -> Activity:
        """The spikes of the last run (copied to the host now if they were not each step)."""
        spikes = {}
        for name, steps in self.recorded.items():
            neuron = [np.asarray(i.cpu()) for i, _ in steps]
            step = [np.full(len(i), s) for i, s in zip(neuron, (s for _, s in steps), strict=True)]
            spikes[name] = Spikes(
                np.concatenate(neuron or [np.zeros(0)]), np.concatenate(step or [np.zeros(0)])
            )
        device = f"torch-{self.device}"
        return Activity(self.dt_ms, self.n_steps, spikes, seed=0, device=device)
