"""GPU descriptors (neuroemu.spec.gpu): the bundled files, the schema's checks and accessors."""

from __future__ import annotations

import pytest

from neuroemu.errors import DescriptorError, NeuroEmuError, UnpricedError
from neuroemu.spec.descriptor import iter_quantities
from neuroemu.spec.gpu import PRECISION_BYTES, bundled_gpu_names, load_gpu, parse_gpu

BUNDLED = ("a100", "h100", "h200", "jetson-orin", "rtx2070", "rtx4090", "v100")


def test_the_issue_s_gpus_are_bundled() -> None:
    assert set(BUNDLED) <= set(bundled_gpu_names())


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_gpu_is_consistent(name: str) -> None:
    gpu = load_gpu(name)
    board, ctx = gpu.power.board_power_w.require(), gpu.power.idle_ctx_power_w.require()
    assert gpu.power.idle_power_w.require() <= ctx < board
    assert "fp32" in gpu.precisions()
    for loc, quantity in iter_quantities(gpu):
        assert quantity.source or quantity.note, f"{name}: {'.'.join(map(str, loc))} unexplained"
    # a per-op energy above (board - idle_ctx) / peak would exceed the board limit at full rate
    for precision in gpu.precisions():
        bound_pj = (board - ctx) / (gpu.peak_ops(precision) * 1e-12)
        assert gpu.op_energy_pj(precision) <= bound_pj * 1.01
    rates = gpu.achievable_rates()
    assert rates["dram"] == pytest.approx(
        gpu.timing.memory_fraction.require() * gpu.memory.bandwidth_gb_s.require() * 1e9
    )
    assert gpu.nvml_energy_counter is (name != "jetson-orin")


def test_rtx2070_fits_are_labelled_as_fits() -> None:
    gpu = load_gpu("rtx2070")
    for field in ("power.idle_ctx_power_w", "energy.per_atomic_pj", "timing.memory_fraction"):
        node = gpu
        for part in field.split("."):
            node = getattr(node, part)
        assert node.source == "snab" and "fitted" in node.note


@pytest.mark.parametrize("name", ["rtx2070", "v100"])
def test_timing_fits_to_published_timings_are_estimates_naming_the_fit(name: str) -> None:
    gpu = load_gpu(name)
    assert "benchmarks/gpu_fit.py" in gpu.sources["gpu_fit"]
    for field in ("launch_latency_us", "atomic_throughput_gops", "row_latency_us"):
        node = getattr(gpu.timing, field)
        assert node is not None, field
        assert node.source == "gpu_fit" and node.estimated and "fitted" in node.note
        assert node.range is not None  # the fit's 68 % interval


def test_row_latency_is_optional_and_zero_when_absent() -> None:
    assert load_gpu("a100").timing.row_latency_us is None
    assert load_gpu("a100").timing.row_latency_s() == 0.0
    assert load_gpu("v100").timing.row_latency_s() == pytest.approx(0.9e-6)


GOOD = load_gpu("rtx2070").text


def test_context_idle_below_bare_idle_is_refused() -> None:
    text = GOOD.replace("idle_ctx_power_w: {value: 71.3", "idle_ctx_power_w: {value: 10")
    with pytest.raises(DescriptorError, match="opening a CUDA context never lowers idle power"):
        parse_gpu(text, "bad.yaml")


def test_an_energy_for_a_precision_without_a_peak_is_refused() -> None:
    text = GOOD.replace("    fp16_tensor: {value: 63.0", "    bf16_tensor: {value: 63.0")
    with pytest.raises(DescriptorError, match=r"prices \['fp16_tensor'\] but compute.peak_tflops"):
        parse_gpu(text, "bad.yaml")


def test_a_misspelt_key_gets_a_suggestion_with_its_line() -> None:
    text = GOOD.replace("l2_bandwidth_gb_s:", "l2_bandwith_gb_s:")
    with pytest.raises(DescriptorError) as info:
        parse_gpu(text, "bad.yaml")
    assert "did you mean 'l2_bandwidth_gb_s'" in str(info.value)
    assert str(info.value).startswith("bad.yaml:")


def test_typed_accessors_read_values_and_refuse_absent_or_unknown_ones() -> None:
    gpu = load_gpu("h200")
    assert gpu.memory.bandwidth_gb_s.require() == 4800
    assert gpu.peak_ops("bf16_tensor") == 989.4e12
    with pytest.raises(NeuroEmuError, match=r"has no peak and energy for 'int8_tensor'"):
        gpu.peak_ops("int8_tensor")
    text = GOOD.replace(
        'sync_us: {value: 5, estimated: true, note: "default to be calibrated"}',
        'sync_us: {unknown: true, note: "never measured"}',
    )
    with pytest.raises(UnpricedError, match=r"timing\.sync_us is marked unknown"):
        parse_gpu(text).timing.sync_us.require()


def test_precision_bytes() -> None:
    assert PRECISION_BYTES["fp32"] == 4 and PRECISION_BYTES["bf16_tensor"] == 2
    assert PRECISION_BYTES["int8_tensor"] == 1 and PRECISION_BYTES["fp64"] == 8


def test_unknown_board_power_is_a_clear_error():
    from neuroemu.errors import DescriptorError
    from neuroemu.resources import data_dir
    from neuroemu.spec.gpu import parse_gpu

    text = (data_dir("chips") / "gpu" / "rtx2070.yaml").read_text()
    start = text.index("  board_power_w:")
    end = text.index("\n", start)
    bad = text[:start] + '  board_power_w: {unknown: true, note: "not given"}' + text[end:]
    with pytest.raises(
        DescriptorError, match=r"bad\.yaml:\d+: power.*board_power_w is marked unknown"
    ):
        parse_gpu(bad, "bad.yaml")
