"""Capacity checks of a mapping, and the :class:`~neuroemu.errors.CapacityError` messages.

:class:`CapacityChecks` holds one call of :func:`neuroemu.mapping.mapping.map_network` up to
placement: the chip's per-core limits, the checks that no placement can change (chip count, delays,
weight sign, a single neuron's memory and fan-in), and the sentences a user reads when a placement
overflows a resource (which resource, which core or neuron, the need, the limit with its
descriptor field, and a remedy). The strategies that place neurons live in
:mod:`neuroemu.mapping.mapping`; the numpy machinery in :mod:`neuroemu.mapping.placement`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from neuroemu.errors import CapacityError, NeuroEmuError
from neuroemu.mapping.encodings import choose_encodings
from neuroemu.mapping.placement import (
    CoreCaps,
    Evaluation,
    SynapseTable,
    build_synapse_table,
    first_over_fan_in,
)
from neuroemu.network.network import Network
from neuroemu.spec.chip import ChipSpec, bundled_chip_dir
from neuroemu.spec.descriptor import Count

_REMEDIES = {
    "neurons": "Use a smaller network or a chip with more neurons per core.",
    "synapse_memory_bits": "Use fewer synapses, or a chip (descriptor) with more synapse memory "
    "or a smaller synapse encoding (fewer weight bits).",
    "fan_in": "Use --strategy min-traffic to group neurons that share inputs, or reduce "
    "in-degrees.",
    "output_axons": "Use --strategy min-traffic to keep each neuron's targets on fewer cores.",
}


def _cap(quantity: Count | None) -> int | None:
    return None if quantity is None else quantity.require()


def _names(populations: list[str], most: int = 3) -> str:
    """``population 'a'`` or ``populations 'a', 'b', 'c' and 4 more``."""
    shown = ", ".join(repr(p) for p in populations[:most])
    more = f" and {len(populations) - most} more" if len(populations) > most else ""
    return f"population{'s' if len(populations) > 1 else ''} {shown}{more}"


def _chip_file(chip: ChipSpec) -> str:
    """The descriptor as the user knows it: ``chips/NAME.yaml`` for bundled ones."""
    if not chip.path:
        return f"descriptor of {chip.name!r}"
    path = Path(chip.path)
    if path.resolve().parent == bundled_chip_dir().resolve():
        return f"chips/{path.name}"
    return chip.path


class CapacityChecks:
    """One call of :func:`~neuroemu.mapping.mapping.map_network`: checks and the messages of
    failures.
    """

    def __init__(
        self,
        network: Network,
        chip: ChipSpec,
        strategy: str,
        n_chips: int | None,
        max_neurons_per_core: int | None = None,
    ) -> None:
        self.network, self.chip, self.strategy = network, chip, strategy
        self.file = _chip_file(chip)
        core = chip.core
        neurons = core.neurons.require()
        if max_neurons_per_core is not None:
            if not isinstance(max_neurons_per_core, int | np.integer) or max_neurons_per_core < 1:
                raise NeuroEmuError(
                    f"max_neurons_per_core must be a positive integer, got {max_neurons_per_core!r}"
                )
            neurons = min(neurons, int(max_neurons_per_core))
        # Below the hardware's own limit when a user caps it (sPyNNaker users do, so that each
        # core's work fits the real-time tick).
        self.user_neuron_cap = neurons if neurons < core.neurons.require() else None
        self.caps = CoreCaps(
            neurons,
            core.synapse_memory_bits.require(),
            _cap(core.fan_in),
            _cap(core.output_axons),
        )
        self.fan_out = _cap(core.fan_out_cores)
        self.per_chip = chip.cores_per_chip
        self.n_chips_arg = n_chips
        self.limit = self._chip_limit(n_chips)
        # One warning per neuron model, not per population: a network of 20 NIR layers named
        # the same model 20 times.
        unsupported: dict[str, list[str]] = {}
        for pop in network.populations:
            if pop.neuron_model.name not in chip.neuron_models:
                unsupported.setdefault(pop.neuron_model.name, []).append(pop.name)
        self.warnings = [
            f"neuron model {model!r} ({_names(pops)}) is not one {chip.name!r} implements (it "
            f"has {', '.join(chip.neuron_models)}); the emulation runs the model as written"
            for model, pops in unsupported.items()
        ]
        self._check_delays()
        self._check_signs()
        self.encodings = choose_encodings(network, chip)
        self.table: SynapseTable = build_synapse_table(network, chip, self.encodings)
        self._check_single_neurons()

    # ---- descriptor facts, as sentences ---------------------------------------------------

    def field(self, name: str) -> str:
        return f"({self.file}: {name})"

    def cap_text(self, resource: str) -> str:
        name, caps = self.chip.name, self.caps
        return {
            "neurons": f"cores of {name!r} hold {caps.neurons} neurons "
            + (
                f"(--max-neurons-per-core {self.user_neuron_cap}; the chip holds "
                f"{self.chip.core.neurons.require()} {self.field('core.neurons')})"
                if self.user_neuron_cap is not None
                else self.field("core.neurons")
            ),
            "synapse_memory_bits": f"cores of {name!r} hold {caps.synapse_memory_bits} bits of "
            f"synapse memory {self.field('core.synapse_memory_bits')}",
            "fan_in": f"cores of {name!r} accept {caps.fan_in} input axons "
            f"{self.field('core.fan_in')}",
            "output_axons": f"cores of {name!r} have {caps.output_axons} output axons "
            f"{self.field('core.output_axons')}",
        }[resource]

    def neuron_name(self, neuron: int) -> str:
        for pop in self.network.populations:
            start = self.network.offsets[pop.name]
            if start <= neuron < start + pop.size:
                return f"neuron {neuron - start} of population {pop.name!r}"
        return f"neuron {neuron}"  # pragma: no cover - indices come from the network

    def core_name(self, core: int) -> str:
        chip, local = divmod(int(core), self.per_chip)
        return f"core {core} (chip {chip}, local core {local})"

    # ---- checks that no placement can change ----------------------------------------------

    def _chip_limit(self, n_chips: int | None) -> int | None:
        most = self.chip.max_chips
        if n_chips is None:
            return most
        if not isinstance(n_chips, int | np.integer) or n_chips < 1:
            raise NeuroEmuError(f"n_chips must be a positive integer, got {n_chips!r}")
        if most is not None and n_chips > most:
            raise CapacityError(
                "chips", "network", n_chips, most,
                f"{n_chips} chips requested, but {self.chip.name!r} scales to at most {most} "
                f"chips {self.field('topology.max_chips')}.",
                f"Use --max-chips {most} or fewer.",
            )  # fmt: skip
        return int(n_chips)

    def _check_delays(self) -> None:
        slots = _cap(self.chip.core.delay_slots)
        dt = self.chip.timing.dt_ms.require()
        for proj in self.network.projections:
            if slots is None or proj.n_synapses == 0:
                continue
            longest = float(np.max(proj.delay_ms))
            steps = int(np.rint(longest / dt))
            if steps > slots:
                raise CapacityError(
                    "delay_slots", f"projection {proj.name!r}", steps, slots,
                    f"projection {proj.name!r} has delays up to {longest:g} ms = {steps} steps of "
                    f"{dt:g} ms; cores of {self.chip.name!r} have {slots} delay slots "
                    f"{self.field('core.delay_slots')}.",
                    f"Use delays of at most {slots * dt:g} ms; no mapping strategy changes this.",
                )  # fmt: skip

    def _check_signs(self) -> None:
        if self.chip.core.weight_signed:
            return
        for proj in self.network.projections:
            negative = int(np.count_nonzero(proj.weight < 0))
            if negative:
                lowest = float(np.min(proj.weight))
                raise CapacityError(
                    "weight_signed", f"projection {proj.name!r}", lowest, 0.0,
                    f"projection {proj.name!r} has {negative} negative weight(s) (down to "
                    f"{lowest:g}); {self.chip.name!r} stores unsigned weights "
                    f"{self.field('core.weight_signed')}.",
                    "Give inhibitory synapses positive weights on an inhibitory target "
                    "(target='inh'); no mapping strategy changes this.",
                )  # fmt: skip

    def _check_single_neurons(self) -> None:
        table, caps = self.table, self.caps
        alone = table.alone_bits()
        over = np.flatnonzero(alone > caps.synapse_memory_bits)
        if len(over):
            g = int(over[0])
            where, bits = self.neuron_name(g), int(alone[g])
            kernel = bits - int(table.in_bits[g])
            what = (
                f"{int(table.in_degree[g])} in-synapses taking {bits} bits of synapse memory"
                if not kernel
                else f"kernels of {kernel} bits (and {int(table.in_bits[g])} bits of other "
                f"synapses) to store with it"
            )
            raise CapacityError(
                "synapse_memory_bits", where, bits, caps.synapse_memory_bits,
                f"{where} has {what}; {self.cap_text('synapse_memory_bits')}. No strategy can "
                f"place it: a neuron's synapses are stored on its own core.",
                "Reduce its in-degree, or use a chip with more synapse memory per core.",
            )  # fmt: skip
        per_neuron = _cap(self.chip.core.fan_in_per_neuron)
        over_degree = (
            np.flatnonzero(table.in_degree > per_neuron)
            if per_neuron is not None
            else np.empty(0, dtype=np.intp)
        )
        if per_neuron is not None and len(over_degree):
            g = int(over_degree[0])
            where, degree = self.neuron_name(g), int(table.in_degree[g])
            raise CapacityError(
                "fan_in_per_neuron", where, degree, per_neuron,
                f"{where} has {degree} in-synapses; a neuron of {self.chip.name!r} accepts at most "
                f"{per_neuron} {self.field('core.fan_in_per_neuron')}. No strategy can place it: "
                f"the limit is per neuron, not per core.",
                f"Reduce its in-degree to at most {per_neuron} synapses.",
            )  # fmt: skip
        found = None if caps.fan_in is None else first_over_fan_in(table, caps.fan_in)
        if found is not None:
            where = self.neuron_name(found[0])
            raise CapacityError(
                "fan_in", where, found[1], caps.fan_in or 0,
                f"{where} receives synapses from {found[1]} distinct sources; "
                f"{self.cap_text('fan_in')}. No strategy can place it.",
                f"Reduce its in-degree to at most {caps.fan_in} distinct sources (e.g. a lower "
                f"connection probability), or relay its inputs through intermediate neurons.",
            )  # fmt: skip

    # ---- messages of placements that overflow ----------------------------------------------

    def _usage_error(self, resource: str, usage: dict[str, np.ndarray]) -> CapacityError:
        core = int(np.argmax(usage[resource]))
        return self._core_error(resource, self.core_name(core), int(usage[resource][core]))

    def _core_error(self, resource: str, where: str, needed: int) -> CapacityError:
        what = {
            "neurons": "neurons",
            "synapse_memory_bits": "bits of synapse memory",
            "fan_in": "input axons (distinct presynaptic sources)",
            "output_axons": "output axons (one per neuron and other core it sends to)",
        }[resource]
        return CapacityError(
            resource, where, needed, getattr(self.caps, resource) or 0,
            f"{where} needs {needed} {what}; {self.cap_text(resource)}.",
            _REMEDIES[resource],
        )  # fmt: skip

    def _too_many(self, n_used: int, limited_by: list[str]) -> CapacityError:
        needed = math.ceil(n_used / self.per_chip)
        reasons = [r for r in limited_by if r in _REMEDIES] or ["neurons"]
        binding = max(set(reasons), key=reasons.count)
        if self.n_chips_arg is not None:
            allowed = f"only {self.limit} chip(s) are allowed (--max-chips {self.limit})"
        else:
            allowed = (
                f"{self.chip.name!r} scales to at most {self.limit} chips "
                f"{self.field('topology.max_chips')}"
            )
        fits = self.chip.max_chips is None or needed <= self.chip.max_chips
        remedy = f"Use --max-chips {needed}." if self.n_chips_arg is not None and fits else ""
        return CapacityError(
            binding, "network", needed, self.limit or 0,
            f"the network needs {n_used} cores of {self.chip.name!r} with strategy "
            f"{self.strategy!r}, that is {needed} chips of {self.per_chip} cores, but {allowed}. "
            f"Most cores are full on {binding}: {self.cap_text(binding)}.",
            remedy or _REMEDIES[binding],
        )  # fmt: skip

    def _check_fan_out(self, evaluation: Evaluation) -> None:
        cap = self.fan_out
        if cap is None or evaluation.n_dest.max(initial=0) <= cap:
            return
        neuron = int(np.argmax(evaluation.n_dest))
        where, reach = self.neuron_name(neuron), int(evaluation.n_dest[neuron])
        posts = self.table.entry_posts()[self.table.sources == neuron]
        fewest = math.ceil(len(np.unique(posts)) / self.caps.neurons)
        if fewest > cap:
            tail = f" No strategy can place it: its targets fill at least {fewest} cores."
            remedy = "Reduce its out-degree, or relay its spikes through splitter neurons."
        else:
            tail = ""
            remedy = (
                "Use --strategy min-traffic to gather its targets on fewer cores, or reduce "
                "its out-degree."
            )
        raise CapacityError(
            "fan_out_cores", where, reach, cap,
            f"{where} sends spikes to {reach} cores; neurons of {self.chip.name!r} reach at most "
            f"{cap} core(s) {self.field('core.fan_out_cores')}.{tail}",
            remedy,
        )  # fmt: skip
