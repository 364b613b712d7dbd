"""Chip descriptors: every bundled file loads, every validation rule refuses its bad input with
file, line and field, and random mutations of valid files never escape as anything but a
DescriptorError (nor pass when they must fail)."""

from __future__ import annotations

import math
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import TINY_CHIP_YAML
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from neuroemu.errors import DescriptorError
from neuroemu.events import EVENT_KINDS
from neuroemu.spec.chip import (
    ChipSpec,
    bundled_chip_dir,
    bundled_chip_names,
    load_chip,
    parse_chip,
)
from neuroemu.spec.descriptor import Quantity, iter_quantities, parse_yaml
from neuroemu.spec.gpu import bundled_gpu_dir, bundled_gpu_names, load_gpu

CHIP_FILES = sorted(bundled_chip_dir().glob("*.yaml"))
GPU_FILES = sorted(bundled_gpu_dir().glob("*.yaml"))
LOIHI_YAML = (bundled_chip_dir() / "loihi.yaml").read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Bundled descriptors


def test_bundled_chips_are_the_expected_set() -> None:
    expected = {
        "loihi",
        "loihi-sanafe",
        "loihi2",
        "truenorth",
        "truenorth-amortised",
        "spinnaker",
        "spinnaker2",
        "speck",
        "xylo",
        "dynapse2",
        "tianjic",
    }
    assert expected <= set(bundled_chip_names())


@pytest.mark.parametrize("path", CHIP_FILES, ids=lambda p: p.stem)
def test_every_bundled_chip_loads(path: Path) -> None:
    chip = load_chip(path.stem)
    assert isinstance(chip, ChipSpec)
    assert chip.name == path.stem, "a bundled chip's name must be its file stem"
    assert chip.path == str(path)
    assert load_chip(path) == chip
    for kind in EVENT_KINDS:
        energy = chip.energy_pj(kind)
        assert energy is None or (math.isfinite(energy) and energy >= 0)
        assert chip.time_ns(kind) >= 0
    for loc, quantity in iter_quantities(chip):
        # Every number has a source, or says it is estimated or unknown, with a note.
        assert quantity.source in chip.sources or quantity.estimated or quantity.unknown, loc
        if quantity.unknown or (quantity.estimated and quantity.source is None):
            assert quantity.note, loc
    if chip.energy.accounting == "amortised":
        assert chip.static_power_mw(1, chip.cores_per_chip) == 0
    for tag, citation in chip.sources.items():
        assert len(citation) > 20, f"{path.name}: source {tag!r} needs a full citation"


@pytest.mark.parametrize("path", GPU_FILES, ids=lambda p: p.stem)
def test_every_bundled_gpu_loads(path: Path) -> None:
    gpu = load_gpu(path.stem)
    assert gpu.name == path.stem
    assert path.stem in bundled_gpu_names()


def test_loihi_figures_from_davies_2018() -> None:
    chip = load_chip("loihi")
    synaptic = chip.energy.per_event_pj.synaptic_event
    assert chip.energy_pj("synaptic_event") == 23.6
    assert synaptic.source == "davies2018"
    assert "Table 2" in chip.sources["davies2018"]
    assert chip.energy.per_event_pj.neuron_update.range == [52, 81]
    assert chip.energy_pj("chip_crossing") is None  # unpublished: unknown, never 0


def test_sanafe_profile_maps_soma_terms() -> None:
    """SANA-FE's soma terms: access for every neuron, update only for a neuron that changed."""
    chip = load_chip("loihi-sanafe")
    assert chip.energy_pj("neuron_update") == 51.2
    assert chip.detail_energy_pj("neuron_changed") == 21.6
    assert chip.work_ns()["neuron_update"] == 6.0 and chip.work_ns()["neuron_changed"] == 3.7
    assert chip.needs_changed_neurons()
    assert chip.energy_pj("spike_out") == 69.3
    assert chip.energy_pj("synaptic_event") == 35.5
    assert chip.energy.per_event_pj.synaptic_event.range == [24.0, 35.5]
    assert chip.energy_pj("message") == 111
    assert chip.energy.per_event_pj.hop.range == [3.0, 4.2]
    assert chip.detail_energy_pj("hop_east_west") == 3.0
    assert chip.detail_energy_pj("hop_north_south") == 4.2
    assert chip.work_ns()["message_in"] == 16
    assert chip.topology.messages_to_own_core and chip.timing.core_work == "send_receive_max"
    # SANA-FE's latency_sync table: the largest entry not above the tiles in use
    barrier = [chip.timing.barrier_s(n_tiles=n) * 1e9 for n in (1, 2, 3, 4, 28, 29, 32)]
    assert barrier == pytest.approx([600, 1000, 1000, 1400, 1400, 1800, 1800])


def test_truenorth_marginal_lands_near_the_amortised_26_pj() -> None:
    """chips/README.md, case truenorth-amortised: the marginal profile must land near 26 pJ at
    Merolla's operating point.

    Hand arithmetic from the descriptor (no emulator): 2^20 neurons at 20 Hz with 128 synapses
    each, spikes sent ~21 cores away in x and in y (the benchmark's average), one chip.
    """
    chip = load_chip("truenorth")
    amortised = load_chip("truenorth-amortised")
    neurons = chip.cores_per_chip * int(chip.core.neurons.value)
    spikes_per_s = neurons * 20.0
    events_per_s = spikes_per_s * 128
    power_pj_per_s = (
        events_per_s * chip.energy_pj("synaptic_event")
        + spikes_per_s * 42 * chip.energy_pj("hop")
        + chip.static_power_mw(1, chip.cores_per_chip) * 1e9
    )
    per_event = power_pj_per_s / events_per_s
    assert per_event == pytest.approx(amortised.energy_pj("synaptic_event"), rel=0.05)
    assert amortised.energy.accounting == "amortised"
    assert amortised.energy.static_power_mw.per_chip is None


def test_spinnaker_matches_snabsuite_spinn5_set() -> None:
    chip = load_chip("spinnaker")
    assert chip.energy_pj("synaptic_event") == 7550
    assert chip.energy_pj("spike_out") == 10000
    assert chip.timing.dt_ms.value == 1.0  # 92.6 nJ is per neuron per 1 ms step
    assert chip.energy_pj("neuron_update") == 92600
    board_idle_w = chip.static_power_mw(48, 0) / 1000
    assert board_idle_w == pytest.approx(23.05, rel=1e-3)


def test_structure_of_small_chips() -> None:
    dynapse = load_chip("dynapse2")
    assert (dynapse.cores_per_chip, dynapse.core.neurons.value) == (4, 256)
    assert dynapse.core.fan_in_per_neuron.value == 64
    assert dynapse.core.fan_out_cores.value == 4
    speck = load_chip("speck")
    assert speck.cores_per_chip == 9
    # heterogeneous cores (sinabs get_constraints): each core's own memories, the largest in
    # core.neurons and core.synapse_memory_bits
    neurons, bits = speck.core.memories(9)
    assert neurons == [65536] * 3 + [32768] * 2 + [16384] * 4
    assert [b // 8 for b in bits] == [16384] * 3 + [32768] * 2 + [65536] * 2 + [16384] * 2
    assert (speck.core.neurons.value, speck.core.synapse_memory_bits.value) == (65536, 524288)
    conv = speck.core.conv_encoding
    assert conv is not None and (conv.per, conv.address_padding) == ("layer", "power_of_two")
    assert load_chip("truenorth").core.conv_encoding is None  # a crossbar shares nothing
    assert dynapse.energy_pj("synaptic_event") is None  # unpublished: unknown, never 0
    loihi2_synop = load_chip("loihi2").energy.per_event_pj.synaptic_event
    assert loihi2_synop.estimated and loihi2_synop.range is not None  # derived, with a range


# --------------------------------------------------------------------------------------------
# One bad input per validation rule: the message names the file, the line and the field.

# (id, old text, new text, field, text on the line the error must point at, problem fragment)
BAD_INPUTS: list[tuple[str, str, str, str, str, str]] = [
    (
        "unknown_key_did_you_mean",
        "  fan_in: {value: 256",
        "  fan_inn: {value: 256",
        "core.fan_inn",
        "fan_inn:",
        "unknown key (did you mean 'fan_in'?)",
    ),
    (
        "unknown_event_kind",
        "    synaptic_event: {value: 20,",
        "    synaptic_evnt: {value: 20,",
        "energy.per_event_pj.synaptic_evnt",
        "synaptic_evnt:",
        "did you mean 'synaptic_event'",
    ),
    (
        "unknown_timing_event_kind",
        "    message: {value: 2, source: test}\nenergy:",
        "    mesage: {value: 2, source: test}\nenergy:",
        "timing.per_event_ns.mesage",
        "mesage:",
        "unknown key (did you mean 'message'?)",
    ),
    (
        "missing_field",
        "  neurons: {value: 32, source: test}\n",
        "",
        "core.neurons",
        "core:",
        "missing required field",
    ),
    (
        "missing_event_energy",
        "    input_event: {value: 1.5, source: test}\n",
        "",
        "energy.per_event_pj.input_event",
        "per_event_pj:",
        "missing required field",
    ),
    (
        "wrong_type_1k",
        "neurons: {value: 32,",
        "neurons: {value: '1k',",
        "core.neurons.value",
        "neurons:",
        "expected a valid integer, got '1k'",
    ),
    (
        "count_as_float",
        "neurons: {value: 32,",
        "neurons: {value: 32.0,",
        "core.neurons.value",
        "neurons:",
        "expected a valid integer",
    ),
    (
        "count_as_bool",
        "neurons: {value: 32,",
        "neurons: {value: true,",
        "core.neurons.value",
        "neurons:",
        "expected a valid integer",
    ),
    (
        "zero_capacity",
        "neurons: {value: 32,",
        "neurons: {value: 0,",
        "core.neurons.value",
        "neurons:",
        "greater than 0",
    ),
    (
        "negative_capacity",
        "synapse_memory_bits: {value: 65536,",
        "synapse_memory_bits: {value: -65536,",
        "core.synapse_memory_bits.value",
        "synapse_memory_bits:",
        "greater than 0",
    ),
    (
        "quantity_as_bare_number",
        "  neurons: {value: 32, source: test}",
        "  neurons: 32",
        "core.neurons",
        "neurons:",
        "expected a quantity such as {value:",
    ),
    (
        "energy_as_string_with_unit",
        "synaptic_event: {value: 20, source: test}",
        "synaptic_event: '23.6 pJ'",
        "energy.per_event_pj.synaptic_event",
        "synaptic_event: '23.6 pJ'",
        "expected a quantity such as {value: 23.6, source: tag}",
    ),
    (
        "energy_value_with_unit",
        "synaptic_event: {value: 20,",
        "synaptic_event: {value: '23.6 pJ',",
        "energy.per_event_pj.synaptic_event.value",
        "'23.6 pJ'",
        "expected a valid number, got '23.6 pJ'",
    ),
    (
        "negative_energy",
        "synaptic_event: {value: 20,",
        "synaptic_event: {value: -20,",
        "energy.per_event_pj.synaptic_event.value",
        "value: -20",
        "greater than or equal to 0",
    ),
    (
        "infinite_energy",
        "synaptic_event: {value: 20,",
        "synaptic_event: {value: .inf,",
        "energy.per_event_pj.synaptic_event.value",
        ".inf",
        "finite",
    ),
    (
        "amortised_with_static_power",
        "accounting: marginal",
        "accounting: amortised",
        "energy.static_power_mw.per_chip",
        "    per_chip:",
        "accounting is 'amortised'",
    ),
    (
        "unknown_source_tag",
        "neurons: {value: 32, source: test}",
        "neurons: {value: 32, source: tset}",
        "core.neurons.source",
        "source: tset",
        "unknown source tag 'tset'",
    ),
    (
        "value_outside_range",
        "weight_bits: {value: 8, source: test}",
        "weight_bits: {value: 8, range: [1, 4], source: test}",
        "core.weight_bits.value",
        "weight_bits:",
        "lies outside its range [1.0, 4.0]",
    ),
    (
        "reversed_range",
        "weight_bits: {value: 8, source: test}",
        "weight_bits: {value: 8, range: [9, 1], source: test}",
        "core.weight_bits.range",
        "weight_bits:",
        "is reversed",
    ),
    (
        "range_of_one_number",
        "weight_bits: {value: 8, source: test}",
        "weight_bits: {value: 8, range: [8], source: test}",
        "core.weight_bits.range",
        "weight_bits:",
        "at least 2 items",
    ),
    (
        "unknown_without_note",
        "synaptic_event: {value: 20, source: test}",
        "synaptic_event: {unknown: true}",
        "energy.per_event_pj.synaptic_event.unknown",
        "synaptic_event: {unknown",
        "needs a 'note'",
    ),
    (
        "unknown_with_a_value",
        "synaptic_event: {value: 20, source: test}",
        "synaptic_event: {value: 20, unknown: true, note: x}",
        "energy.per_event_pj.synaptic_event.value",
        "synaptic_event: {value: 20, unknown",
        "must not also carry a 'value'",
    ),
    (
        "value_without_source_or_estimated",
        "synaptic_event: {value: 20, source: test}",
        "synaptic_event: {value: 20}",
        "energy.per_event_pj.synaptic_event",
        "synaptic_event: {value: 20}",
        "every number needs a 'source'",
    ),
    (
        "estimated_without_note",
        "synaptic_event: {value: 20, source: test}",
        "synaptic_event: {value: 20, estimated: true}",
        "energy.per_event_pj.synaptic_event",
        "estimated: true",
        "needs a 'note'",
    ),
    (
        "unknown_capacity",
        "neurons: {value: 32, source: test}",
        "neurons: {unknown: true, note: nobody says}",
        "core.neurons.unknown",
        "neurons:",
        "cannot be unknown",
    ),
    (
        "inconsistent_mesh",
        "mesh_height_tiles: {value: 1,",
        "mesh_height_tiles: {value: 2,",
        "topology.cores_per_chip",
        "cores_per_chip:",
        "= 8, but cores_per_chip is 4",
    ),
    (
        "bad_format_version",
        "format_version: 1",
        "format_version: 2",
        "format_version",
        "format_version:",
        "expected 1",
    ),
    (
        "format_version_as_bool",
        "format_version: 1",
        "format_version: true",
        "format_version",
        "format_version:",
        "expected 1",
    ),
    (
        "wrong_kind",
        "kind: chip",
        "kind: gpu",
        "kind",
        "kind:",
        "expected 'chip', got 'gpu'",
    ),
    (
        "bad_name",
        "name: tiny",
        "name: Tiny Chip",
        "name",
        "name:",
        "should match pattern",
    ),
    (
        "default_encoding_not_among_encodings",
        "default_encoding: sparse",
        "default_encoding: packed",
        "core.default_encoding",
        "default_encoding:",
        "'packed' is not one of synapse_encodings",
    ),
    (
        "unknown_neuron_model",
        "neuron_models: [lif, cuba_lif]",
        "neuron_models: [lif, cuba_lf]",
        "neuron_models[1]",
        "neuron_models:",
        "did you mean 'cuba_lif'",
    ),
    (
        "tick_mode_without_tick_ms",
        "mode: barrier",
        "mode: tick",
        "timing.mode",
        "mode:",
        "needs tick_ms",
    ),
    (
        "barrier_mode_without_barrier_ns",
        "  barrier_ns: {value: 100, source: test}\n",
        "",
        "timing.mode",
        "mode:",
        "needs barrier_ns",
    ),
    (
        "unknown_timing_mode",
        "mode: barrier",
        "mode: clocked",
        "timing.mode",
        "mode:",
        "expected 'barrier', 'tick' or 'async'",
    ),
    (
        "reserved_key",
        "name: tiny\n",
        "name: tiny\npath: elsewhere.yaml\n",
        "path",
        "path:",
        "unknown key",
    ),
    (
        "router_time_under_send_receive_max",
        "  barrier_ns: {value: 100, source: test}\n",
        "  barrier_ns: {value: 100, source: test}\n  core_work: send_receive_max\n"
        "  hop_ns_by_direction: {east_west: {value: 1, source: test}, "
        "north_south: {value: 2, source: test}}\n",
        "timing.hop_ns_by_direction",
        "hop_ns_by_direction:",
        "no core's work there",
    ),
    (
        "barrier_table_without_tiles",
        "  barrier_ns: {value: 100, source: test}\n",
        "  barrier_ns: {value: 100, source: test}\n"
        "  barrier_ns_by_tiles: {0: {value: 5, source: test}}\n",
        "timing.barrier_ns_by_tiles",
        "barrier_ns_by_tiles:",
        "number of tiles in use",
    ),
    (
        "hop_time_given_twice",
        "    message: {value: 2, source: test}\nenergy:\n",
        "    message: {value: 2, source: test}\n    hop: {value: 1, source: test}\n"
        "  hop_ns_by_direction: {east_west: {value: 1, source: test}, "
        "north_south: {value: 2, source: test}}\nenergy:\n",
        "timing.hop_ns_by_direction",
        "hop_ns_by_direction:",
        "expected one of them",
    ),
    (
        "implausible_changed_neuron_energy",
        "  static_power_mw:\n",
        "  neuron_changed_pj: {value: 1.0e+12, source: test}\n  static_power_mw:\n",
        "energy.neuron_changed_pj.value",
        "neuron_changed_pj:",
        "outside what any chip has",
    ),
    (
        "sources_not_a_mapping",
        '  test: "made up for the tests"\n',
        "  - test\n",
        "sources",
        "sources:",
        "expected a mapping, got ['test']",
    ),
    (
        "shared_encoding_unknown_kind",
        "  delay_slots: {value: 16, source: test}\n",
        "  delay_slots: {value: 16, source: test}\n  shared_encodings:\n"
        "    kernel: {bits_per_weight: {value: 8, source: test}, per: core}\n",
        "core.shared_encodings.kernel",
        "kernel:",
        "unknown key; expected one of: conv",
    ),
    (
        "shared_encoding_padding_needs_layers",
        "  delay_slots: {value: 16, source: test}\n",
        "  delay_slots: {value: 16, source: test}\n  shared_encodings:\n"
        "    conv: {bits_per_weight: {value: 8, source: test}, per: core, "
        "address_padding: power_of_two}\n",
        "core.shared_encodings.conv.address_padding",
        "conv:",
        "expected it with 'per: layer'",
    ),
    (
        "per_core_largest_is_not_the_headline",
        "  delay_slots: {value: 16, source: test}\n",
        "  delay_slots: {value: 16, source: test}\n  per_core:\n"
        "    - {neurons: {value: 16, source: test}, "
        "synapse_memory_bits: {value: 65536, source: test}}\n",
        "core.per_core",
        "per_core:",
        "the largest core's neurons is 16, but core.neurons is 32",
    ),
]


def _line_containing(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in the text")


def _problems(exc: DescriptorError) -> list[DescriptorError]:
    return list(getattr(exc, "errors", [exc]))


@pytest.mark.parametrize(
    ("old", "new", "field", "needle", "fragment"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_input_names_file_line_and_field(
    old: str, new: str, field: str, needle: str, fragment: str
) -> None:
    assert TINY_CHIP_YAML.count(old) == 1, "the case must change exactly one place"
    text = TINY_CHIP_YAML.replace(old, new)
    with pytest.raises(DescriptorError) as caught:
        parse_chip(text, "bad.yaml")
    line = _line_containing(text, needle)
    matching = [p for p in _problems(caught.value) if p.field == field]
    assert matching, f"no problem reported for {field!r}: {caught.value}"
    problem = matching[0]
    assert (problem.path, problem.line) == ("bad.yaml", line), str(caught.value)
    assert fragment in problem.problem
    assert f"bad.yaml:{line}: {field}: " in str(caught.value)


def test_bad_inputs_cover_at_least_15_rules() -> None:
    assert len(BAD_INPUTS) >= 15
    assert len({case[0] for case in BAD_INPUTS}) == len(BAD_INPUTS)


# Inputs whose problem is the file itself (no field): file and line still given where one exists.
UNCLOSED = TINY_CHIP_YAML.replace("{value: 256, source: test}", "{value: 256")
LIST_KEY = TINY_CHIP_YAML.replace("  fan_in:", "  ? [a, b]\n  : 1\n  fan_in:")
FILE_LEVEL_INPUTS = [
    ("empty_file", "", None, "the file is empty"),
    ("only_comments", "# nothing here\n", None, "the file is empty"),
    ("top_level_list", "- a\n- b\n", 1, "expected a YAML mapping, got list"),
    ("unclosed_flow_mapping", UNCLOSED, 27, "not valid YAML"),
    ("tab_indentation", TINY_CHIP_YAML.replace("  fan_in:", "\tfan_in:"), 26, "not valid YAML"),
    ("control_character", TINY_CHIP_YAML.replace("tests\n", "te\x07sts\n", 1), 8, "not valid YAML"),
    ("two_documents", TINY_CHIP_YAML + "---\nname: other\n", 51, "not valid YAML"),
    ("list_as_key", LIST_KEY, 26, "plain name as key"),
]


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [case[1:] for case in FILE_LEVEL_INPUTS],
    ids=[case[0] for case in FILE_LEVEL_INPUTS],
)
def test_file_level_problems(text: str, line: int | None, fragment: str) -> None:
    with pytest.raises(DescriptorError) as caught:
        parse_chip(text, "bad.yaml")
    assert caught.value.path == "bad.yaml"
    assert caught.value.line == line
    assert fragment in str(caught.value)
    assert str(caught.value).startswith("bad.yaml:" if line else "bad.yaml")


def test_duplicate_key_points_at_the_second_one() -> None:
    line = "  neurons: {value: 32, source: test}\n"
    text = TINY_CHIP_YAML.replace(line, line + line)
    with pytest.raises(DescriptorError) as caught:
        parse_chip(text, "bad.yaml")
    assert (caught.value.line, caught.value.field) == (18, "core.neurons")
    assert "duplicate key (first given on line 17)" in str(caught.value)


def test_duplicate_key_inside_a_flow_mapping() -> None:
    text = TINY_CHIP_YAML.replace(
        "{value: 32, source: test}", "{value: 32, value: 64, source: test}"
    )
    with pytest.raises(DescriptorError, match=r"bad.yaml:17: core.neurons.value: duplicate key"):
        parse_chip(text, "bad.yaml")


def test_several_problems_are_all_listed_in_line_order() -> None:
    text = (
        TINY_CHIP_YAML.replace("neurons: {value: 32,", "neurons: {value: '1k',")
        .replace("  fan_in:", "  fan_inn:")
        .replace("vendor: tests", "vendor: 7")
    )
    with pytest.raises(DescriptorError) as caught:
        parse_chip(text, "bad.yaml")
    lines = str(caught.value).splitlines()
    assert [p.line for p in _problems(caught.value)] == [8, 17, 26]
    assert lines[0].startswith("bad.yaml:8: identity.vendor: ")
    assert lines[1].startswith("bad.yaml:17: core.neurons.value: ")
    assert lines[2].startswith("bad.yaml:26: core.fan_inn: unknown key")


def test_load_chip_reports_the_file_path(tmp_path: Path) -> None:
    path = tmp_path / "my_chip.yaml"
    path.write_text(TINY_CHIP_YAML.replace("neurons: {value: 32,", "neurons: {value: '1k',"))
    with pytest.raises(DescriptorError, match=re.escape(f"{path}:17: core.neurons.value: ")):
        load_chip(path)
    with pytest.raises(DescriptorError, match="no such file"):
        load_chip(tmp_path / "missing.yaml")
    with pytest.raises(DescriptorError, match="not a regular file"):
        load_chip(tmp_path)


def test_unknown_bundled_name_suggests_the_closest() -> None:
    with pytest.raises(DescriptorError, match="Did you mean 'loihi'"):
        load_chip("lohi")


def test_self_referencing_and_exploding_aliases_are_refused_quickly() -> None:
    recursive = TINY_CHIP_YAML + "extra: &a [*a]\n"
    with pytest.raises(DescriptorError, match="extra: unknown key"):
        parse_chip(recursive, "bad.yaml")
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        laughs += f"{level}: &{level} [{', '.join(['*' + previous] * 10)}]\n"
    with pytest.raises(DescriptorError):
        parse_chip(TINY_CHIP_YAML + laughs, "bad.yaml")


# --------------------------------------------------------------------------------------------
# Fuzzing: random mutations of valid files. Each must raise DescriptorError or be valid; those
# that break a rule (a required key deleted, a key misspelt, a number replaced by junk, a key
# line duplicated, the text cut inside a line) must raise.

BASES = {"tiny": TINY_CHIP_YAML, "loihi": LOIHI_YAML}
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Literal values a random replacement text must not hit by chance (it would still be valid).
VALID_WORDS = {"chip", "marginal", "amortised", "barrier", "tick", "async", "sparse", "dense"}


def _outcome(text: str) -> DescriptorError | None:
    """Parse; return the DescriptorError or None. Any other exception fails the test."""
    try:
        parse_chip(text, "fuzz.yaml")
    except DescriptorError as exc:
        for problem in _problems(exc):
            assert problem.path == "fuzz.yaml"
            assert str(problem).startswith("fuzz.yaml")
        return exc
    return None


def _paths(data: Any, loc: tuple = ()) -> list[tuple]:
    """Every key path of the mapping tree (list items excluded)."""
    out = []
    if isinstance(data, dict):
        for key, value in data.items():
            out.append((*loc, key))
            out.extend(_paths(value, (*loc, key)))
    return out


def _get(data: Any, loc: tuple) -> Any:
    for part in loc:
        data = data[part]
    return data


@dataclass(frozen=True)
class DictOf:
    """A dict-typed field of the schema (``sources``, ``synapse_encodings``, ``per_event_ns``)."""

    keys: Any
    values: Any


def _field_type(container: Any, key: Any) -> Any:
    """The schema type found under ``key`` of ``container`` (a model class or a DictOf)."""
    if isinstance(container, DictOf):
        return container.values
    annotation = container.model_fields[key].annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    if typing.get_origin(annotation) is dict:
        return DictOf(*typing.get_args(annotation))
    return annotation


def _holder(loc: tuple) -> Any:
    """The schema type (model class or DictOf) of the mapping that holds the key ``loc[-1]``."""
    current: Any = ChipSpec
    for part in loc[:-1]:
        current = _field_type(current, part)
    return current


def _is_model(holder: Any) -> bool:
    return isinstance(holder, type) and issubclass(holder, BaseModel)


def _quantity_valid(quantity: dict) -> bool:
    """The provenance rule of a quantity mapping, restated independently of the loader."""
    unknown = quantity.get("unknown", False)
    has_value = quantity.get("value") is not None
    if unknown:
        return not has_value and bool(quantity.get("note") or quantity.get("source"))
    if not has_value:
        return False
    if quantity.get("source") is None:
        return bool(quantity.get("estimated")) and bool(quantity.get("note"))
    return True


def _deletion_must_fail(data: dict, loc: tuple) -> bool:
    """If deleting the key at ``loc`` breaks a rule (restated here, not asked of the loader)."""
    parent = _get(data, loc[:-1])
    key = loc[-1]
    holder = _holder(loc)
    if _is_model(holder) and issubclass(holder, Quantity):
        return not _quantity_valid({k: v for k, v in parent.items() if k != key})
    if _is_model(holder):
        if holder.model_fields[key].is_required():
            return True
        needed_by_mode = {"barrier": "barrier_ns", "tick": "tick_ms"}
        return loc[:-1] == ("timing",) and needed_by_mode.get(parent["mode"]) == key
    if loc[:-1] == ("sources",):
        return key in {q.get("source") for q in _all_quantities(data)}
    if loc[:-1] == ("core", "synapse_encodings"):
        named = (data["core"].get("default_encoding"), data["core"].get("dense_encoding"))
        return len(parent) == 1 or key in named
    return False


def _all_quantities(data: Any) -> list[dict]:
    found = []
    if isinstance(data, dict):
        if "value" in data or "unknown" in data:
            found.append(data)
        for value in data.values():
            found.extend(_all_quantities(value))
    return found


@given(base=st.sampled_from(sorted(BASES)), data=st.data())
@FUZZ
def test_fuzz_delete_a_key(base: str, data: st.DataObject) -> None:
    tree = yaml.safe_load(BASES[base])
    loc = data.draw(st.sampled_from(_paths(tree)))
    must_fail = _deletion_must_fail(tree, loc)
    del _get(tree, loc[:-1])[loc[-1]]
    error = _outcome(yaml.safe_dump(tree, sort_keys=False))
    # Exact oracle: the deletion fails exactly when the rules say it must.
    assert (error is not None) == must_fail, f"deleting {loc}: {error}"


def _typo(word: str) -> st.SearchStrategy[str]:
    letters = st.sampled_from("abcdefghijklmnopqrstuvwxyz_")
    index = st.integers(0, max(len(word) - 1, 0))
    return st.one_of(
        st.builds(lambda i, c: word[:i] + c + word[i:], index, letters),  # insertion
        st.builds(lambda i: word[:i] + word[i + 1 :], index),  # deletion
        st.builds(lambda i, c: word[:i] + c + word[i + 1 :], index, letters),  # substitution
        st.builds(
            lambda i: word[:i] + word[i + 1 : i + 2] + word[i : i + 1] + word[i + 2 :], index
        ),
    )


@given(base=st.sampled_from(sorted(BASES)), data=st.data())
@FUZZ
def test_fuzz_rename_a_key_with_a_typo(base: str, data: st.DataObject) -> None:
    tree = yaml.safe_load(BASES[base])
    loc = data.draw(st.sampled_from(_paths(tree)))
    key = loc[-1]
    new = data.draw(_typo(str(key)))
    parent = _get(tree, loc[:-1])
    assume(new and new != key and new not in parent)
    holder = _holder(loc)
    in_model = _is_model(holder)
    # A typo that happens to be another field of the same model is not a misspelling.
    assume(not (in_model and new in holder.model_fields))
    assume(new not in EVENT_KINDS)
    renamed = {(new if k == key else k): v for k, v in parent.items()}
    if loc[:-1]:
        _get(tree, loc[:-2])[loc[-2]] = renamed
    else:
        tree = renamed
    error = _outcome(yaml.safe_dump(tree, sort_keys=False))
    if in_model or loc[:-1] == ("timing", "per_event_ns"):
        assert error is not None, f"renaming {loc} to {new!r} was accepted"
        # format_version and kind are checked first, on their own, as missing.
        expected = "expected" if loc in (("format_version",), ("kind",)) else "unknown key"
        assert any(expected in p.problem for p in _problems(error))
    elif loc[:-1] == ("sources",):
        referenced = {q.get("source") for q in _all_quantities(tree)}
        assert (error is not None) == (key in referenced), f"renaming source {key!r}: {error}"
    elif loc[:-1] == ("core", "synapse_encodings"):
        named = (tree["core"].get("default_encoding"), tree["core"].get("dense_encoding"))
        assert (error is not None) == (key in named), f"renaming encoding {key!r}: {error}"


junk = st.one_of(
    st.text(max_size=12).filter(lambda s: s.strip() not in VALID_WORDS),
    st.floats(max_value=-1e-6, allow_nan=False, allow_infinity=False),
    st.integers(max_value=-1),
    st.lists(st.integers(), max_size=3),
    st.none(),
)


@given(base=st.sampled_from(sorted(BASES)), data=st.data(), replacement=junk)
@FUZZ
def test_fuzz_replace_a_value_by_junk(base: str, data: st.DataObject, replacement: Any) -> None:
    tree = yaml.safe_load(BASES[base])
    loc = data.draw(st.sampled_from(_paths(tree)))
    old = _get(tree, loc)
    assume(replacement != old)
    _get(tree, loc[:-1])[loc[-1]] = replacement
    error = _outcome(yaml.safe_dump(tree, sort_keys=False))
    strict_keys = {"value", "format_version", "kind", "accounting", "mode", "weight_signed"}
    if loc[-1] in strict_keys or (isinstance(old, dict) and replacement is not None):
        # Every number in the bases is >= 0, and no junk is a valid literal or a mapping.
        assert error is not None, f"{loc} = {replacement!r} was accepted"


def _key_lines(text: str) -> set[int]:
    _, lines = parse_yaml(text, "base.yaml")
    return {line for loc, line in lines.items() if loc and isinstance(loc[-1], str)}


@given(base=st.sampled_from(sorted(BASES)), data=st.data())
@FUZZ
def test_fuzz_duplicate_a_line(base: str, data: st.DataObject) -> None:
    text = BASES[base]
    lines = text.splitlines(keepends=True)
    index = data.draw(st.integers(0, len(lines) - 1))
    mutated = "".join([*lines[: index + 1], lines[index], *lines[index + 1 :]])
    error = _outcome(mutated)
    if index + 1 in _key_lines(text):
        assert error is not None, f"duplicating line {index + 1} {lines[index]!r} was accepted"


@given(base=st.sampled_from(sorted(BASES)), data=st.data())
@FUZZ
def test_fuzz_truncate_the_text(base: str, data: st.DataObject) -> None:
    text = BASES[base]
    cut = data.draw(st.integers(0, len(text) - 1))
    mutated = text[:cut]
    error = _outcome(mutated)
    line_start = mutated.rfind("\n") + 1
    partial = mutated[line_start:]
    inside_flow = partial.count("{") > partial.count("}") or partial.count("[") > partial.count("]")
    energy_lost = cut <= text.index("\nenergy:")
    if inside_flow or partial.count('"') % 2 or energy_lost:
        assert error is not None, f"truncating at {cut} ({partial!r}) was accepted"


@given(base=st.sampled_from(sorted(BASES)), data=st.data())
@FUZZ
def test_fuzz_delete_a_line(base: str, data: st.DataObject) -> None:
    text = BASES[base]
    lines = text.splitlines(keepends=True)
    index = data.draw(st.integers(0, len(lines) - 1))
    _outcome("".join(lines[:index] + lines[index + 1 :]))


@given(base=st.sampled_from(sorted(BASES)), noise=st.text(min_size=1, max_size=20), data=st.data())
@FUZZ
def test_fuzz_insert_random_text(base: str, noise: str, data: st.DataObject) -> None:
    text = BASES[base]
    at = data.draw(st.integers(0, len(text)))
    _outcome(text[:at] + noise + text[at:])
