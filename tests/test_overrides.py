"""Descriptor overrides (``--set``): the derived descriptor is validated like a file, its name
records the settings, and a trace keeps the derived text."""

from __future__ import annotations

import dataclasses
import json

import pytest
from conftest import TINY_CHIP_YAML
from test_traces import synthetic_result

from neuroemu.errors import DescriptorError, NeuroEmuError
from neuroemu.spec.chip import load_chip, parse_chip
from neuroemu.spec.gpu import load_gpu
from neuroemu.spec.overrides import (
    apply_overrides,
    check_targets,
    derived_name,
    load_overridden,
    parse_override,
    parse_overrides,
)
from neuroemu.traces.file import read_trace, write_trace


@pytest.fixture
def tiny():
    return parse_chip(TINY_CHIP_YAML, "tiny.yaml")


def test_a_quantity_takes_the_new_value_and_says_so(tiny) -> None:
    chip = apply_overrides(tiny, ["core.synapse_memory_bits=131072"])
    quantity = chip.core.synapse_memory_bits
    assert quantity.value == 131072 and quantity.estimated and quantity.source is None
    assert "set by --set core.synapse_memory_bits=131072" in (quantity.note or "")
    assert "tiny.yaml gives 65536 (source: test)" in (quantity.note or "")
    assert chip.name == "tiny-set-core.synapse_memory_bits-131072"
    assert chip.path == "tiny.yaml"
    # Everything else is the descriptor as written.
    assert chip.core.neurons == tiny.core.neurons and chip.energy == tiny.energy
    # The derived text is a descriptor in its own right: it reads back to the same chip.
    assert parse_chip(chip.text, "again.yaml").core.model_dump() == chip.core.model_dump()
    assert tiny.core.synapse_memory_bits.value == 65536  # the original is untouched


def test_a_range_no_longer_applies_to_an_overridden_value() -> None:
    loihi = load_chip("loihi")
    assert loihi.core.weight_bits.range == [1, 9]
    chip = apply_overrides(loihi, ["core.weight_bits=12"])
    assert chip.core.weight_bits.value == 12 and chip.core.weight_bits.range is None


def test_plain_fields_and_absent_optional_quantities(tiny) -> None:
    chip = apply_overrides(tiny, ["core.weight_signed=false", "core.fan_out_cores=3"])
    assert chip.core.weight_signed is False
    assert chip.core.fan_out_cores is not None and chip.core.fan_out_cores.value == 3
    assert chip.name == "tiny-set-core.weight_signed-false-set-core.fan_out_cores-3"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("core.synapse_memry_bits=3", "core.synapse_memry_bits: unknown key (did you mean "
         "'synapse_memory_bits'?)"),
        ("core.neurons=-4", "core.neurons.value: expected greater than 0, got -4"),
        ("core.neurons=1e300", "core.neurons.value"),
        ("cor.neurons=3", "cor: no such section"),
        ("timing.mode=sometimes", "timing.mode"),
    ],
)  # fmt: skip
def test_a_refused_value_names_the_setting_and_the_field(tiny, setting: str, message: str) -> None:
    with pytest.raises(DescriptorError) as caught:
        apply_overrides(tiny, [setting])
    text = str(caught.value)
    assert text.startswith(f"tiny.yaml (with --set {setting}): "), text
    assert message in text


@pytest.mark.parametrize(
    "setting", ["core.neurons", "=3", "core..neurons=3", "core.neurons=", ":core.neurons=3",
                "name=other", "kind=gpu", "core.neurons=[1"],
)  # fmt: skip
def test_malformed_settings_are_refused(setting: str) -> None:
    with pytest.raises(NeuroEmuError, match="--set"):
        parse_override(setting)


def test_a_field_set_twice_is_refused() -> None:
    with pytest.raises(NeuroEmuError, match="given twice"):
        parse_overrides(["core.neurons=3", "core.neurons=4"])
    # ... but the same field on two devices is two settings.
    assert len(parse_overrides(["core.neurons=3", "tiny:core.neurons=4"])) == 2


def test_a_prefix_aims_at_one_device_and_plain_settings_at_chips_only(tiny) -> None:
    gpu = load_gpu("rtx2070")
    assert apply_overrides(gpu, ["core.neurons=3"]) is gpu  # chips only
    assert apply_overrides(tiny, ["other:core.neurons=3"]) is tiny
    idle = gpu.power.idle_power_w.require()
    changed = apply_overrides(gpu, [f"rtx2070:power.idle_power_w={idle + 1}"])
    assert changed.power.idle_power_w.require() == idle + 1
    assert changed.name == f"rtx2070-set-power.idle_power_w-{idle + 1}"
    with pytest.raises(NeuroEmuError, match="no chip or GPU named 'h1000'"):
        check_targets(parse_overrides(["h1000:power.idle_power_w=3"]), ["tiny", "rtx2070"])


def test_names_keep_to_the_characters_a_descriptor_name_allows() -> None:
    (item,) = parse_overrides(["timing.mode=Real Time!"])
    assert derived_name("x", [item]) == "x-set-timing.mode-real_time_"


def test_a_trace_keeps_the_derived_descriptor(tmp_path, tiny) -> None:
    chip = apply_overrides(tiny, ["core.synapse_memory_bits=131072"])
    result = dataclasses.replace(synthetic_result(), chip=chip)
    write_trace(tmp_path / "run.h5", result)
    back = read_trace(tmp_path / "run.h5")
    assert back.chip.name == chip.name
    assert back.chip.core.synapse_memory_bits.value == 131072


def test_load_overridden_is_what_a_command_does_with_its_set_options(tiny) -> None:
    chips, gpus = load_overridden(
        [tiny, "loihi"], ["rtx2070"], ["core.neurons=16", "rtx2070:power.idle_power_w=20"]
    )
    assert [c.core.neurons.value for c in chips] == [16, 16]
    assert [c.name for c in chips] == ["tiny-set-core.neurons-16", "loihi-set-core.neurons-16"]
    assert gpus[0].power.idle_power_w.value == 20
    with pytest.raises(NeuroEmuError, match="no chip or GPU named 'h100'"):
        load_overridden(["loihi"], [], ["h100:power.idle_power_w=20"])


def test_set_on_the_command_line_derives_the_chip_map_uses() -> None:
    from click.testing import CliRunner

    from neuroemu.cli.main import cli

    plain = CliRunner().invoke(cli, ["map", "cuba", "--chip", "loihi", "--json"])
    halved = CliRunner().invoke(
        cli, ["map", "cuba", "--chip", "loihi", "--set", "core.neurons=512", "--json"]
    )
    assert plain.exit_code == 0 and halved.exit_code == 0, halved.output
    before, after = json.loads(plain.output), json.loads(halved.output)
    assert after["chip"] == "loihi-set-core.neurons-512"
    assert after["n_cores_used"] > before["n_cores_used"]
    bad = CliRunner().invoke(cli, ["map", "cuba", "--chip", "loihi", "--set", "core.neurons=-5"])
    assert bad.exit_code == 1 and "(with --set core.neurons=-5): core.neurons.value" in bad.output
