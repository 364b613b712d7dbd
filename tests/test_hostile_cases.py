# ruff: noqa: E501  (one case per line: the table reads better than wrapped rows)
"""The hostile-input suite: 151 bad or hostile inputs, each refused with its exit status and
its message, and never a traceback, a simulation, or a hang.

Each case is one row: an id, what is changed or typed, the exit status (1: neuroemu's own
error; 2: click's usage error), and a fragment of the one "Error:" line the user sees (``TMP``
stands for the test's folder). Four families, each driven through the real command line
(click's test runner, in process):

- DESCRIPTOR_CASES: one edit to a valid chip descriptor, checked with ``chips check``;
- CLI_CASES: flags and arguments of every command;
- EXPERIMENT_CASES: one edit to a valid experiment file, run with ``experiment``;
- MODEL_FILE_CASES: model files that are broken Python, build nothing, or fail.

The simulation is replaced by one that fails the test, so every refusal is shown to happen
before any simulation starts. Other hostile inputs have their own files: damaged traces
(test_trace_fuzz.py), signals (test_interrupts.py), full disks (test_full_disk.py), alias
bombs, devices and pipes (test_hostile.py), run budgets (test_run_budget.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import MODEL, TINY_CHIP_YAML

from neuroemu.cli.main import cli

EXPERIMENT_YAML = """\
format_version: 1
kind: experiment
name: hostile
model: m.py
chips: [tiny.yaml]
duration_ms: 20
seeds: [1, 2]
device: numpy
outputs:
  folder: out
  traces: true
  table: results.csv
"""

# fmt: off
DESCRIPTOR_CASES = [
    ('neurons_negative', ['neurons: {value: 32,', 'neurons: {value: -3,'], 1, 'TMP/bad.yaml:17: core.neurons.value: expected greater than 0, got -3'),
    ('neurons_float', ['neurons: {value: 32,', 'neurons: {value: 32.5,'], 1, 'TMP/bad.yaml:17: core.neurons.value: expected a valid integer, got 32.5'),
    ('neurons_string', ['neurons: {value: 32,', "neurons: {value: '1k',"], 1, "TMP/bad.yaml:17: core.neurons.value: expected a valid integer, got '1k'"),
    ('neurons_bool', ['neurons: {value: 32,', 'neurons: {value: true,'], 1, 'TMP/bad.yaml:17: core.neurons.value: expected a valid integer, got True'),
    ('neurons_list', ['neurons: {value: 32,', 'neurons: {value: [32],'], 1, 'TMP/bad.yaml:17: core.neurons.value: expected a valid integer, got [32]'),
    ('neurons_null', ['neurons: {value: 32,', 'neurons: {value: null,'], 1, "TMP/bad.yaml:17: core.neurons: expected a 'value' (or 'unknown: true' with a 'note'), foun"),
    ('neurons_nan', ['neurons: {value: 32,', 'neurons: {value: .nan,'], 1, 'TMP/bad.yaml:17: core.neurons.value: expected a valid integer, got nan'),
    ('neurons_huge', ['neurons: {value: 32,', 'neurons: {value: 1e30,'], 1, 'TMP/bad.yaml:17: core.neurons.value: expected a valid integer, got 1e+30'),
    ('dt_zero', ['dt_ms: {value: 1.0,', 'dt_ms: {value: 0,'], 1, 'TMP/bad.yaml:31: timing.dt_ms.value: expected greater than 0, got 0'),
    ('dt_tiny', ['dt_ms: {value: 1.0,', 'dt_ms: {value: 1e-300,'], 1, 'TMP/bad.yaml:31: timing.dt_ms.value: 1e-300 ms is outside what any chip has: expected a va'),
    ('dt_inf', ['dt_ms: {value: 1.0,', 'dt_ms: {value: .inf,'], 1, 'TMP/bad.yaml:31: timing.dt_ms.value: expected a finite number, got inf'),
    ('dt_negative', ['dt_ms: {value: 1.0,', 'dt_ms: {value: -1,'], 1, 'TMP/bad.yaml:31: timing.dt_ms.value: expected greater than 0, got -1'),
    ('energy_huge', ['synaptic_event: {value: 20,', 'synaptic_event: {value: 1e308,'], 1, 'TMP/bad.yaml:41: energy.per_event_pj.synaptic_event.value: 1e+308 pJ is outside what any c'),
    ('energy_negative', ['synaptic_event: {value: 20,', 'synaptic_event: {value: -20,'], 1, 'TMP/bad.yaml:41: energy.per_event_pj.synaptic_event.value: expected greater than or equal '),
    ('energy_string', ['synaptic_event: {value: 20,', 'synaptic_event: {value: twenty,'], 1, "TMP/bad.yaml:41: energy.per_event_pj.synaptic_event.value: expected a valid number, got 't"),
    ('energy_typo', ['    synaptic_event: {value: 20,', '    synaptic_evnt: {value: 20,'], 1, 'TMP/bad.yaml:39: energy.per_event_pj.synaptic_event: missing required field'),
    ('source_missing', ['synaptic_event: {value: 20, source: test}', 'synaptic_event: {value: 20}'], 1, "TMP/bad.yaml:41: energy.per_event_pj.synaptic_event: every number needs a 'source' (a tag "),
    ('source_unknown', ['synaptic_event: {value: 20, source: test}', 'synaptic_event: {value: 20, source: nobody}'], 1, "TMP/bad.yaml:41: energy.per_event_pj.synaptic_event.source: unknown source tag 'nobody': e"),
    ('range_reversed', ['synaptic_event: {value: 20, source: test}', 'synaptic_event: {value: 20, range: [30, 10], source: test}'], 1, 'TMP/bad.yaml:41: energy.per_event_pj.synaptic_event.range: range [30.0, 10.0] is reversed:'),
    ('range_excludes_value', ['synaptic_event: {value: 20, source: test}', 'synaptic_event: {value: 20, range: [30, 40], source: test}'], 1, 'TMP/bad.yaml:41: energy.per_event_pj.synaptic_event.value: value 20.0 lies outside its ran'),
    ('weight_bits_huge', ['weight_bits: {value: 8,', 'weight_bits: {value: 4096,'], 1, 'TMP/bad.yaml:24: core.weight_bits.value: 4096 bits is outside what any chip has: expected '),
    ('cores_huge', ['cores_per_chip: {value: 4,', 'cores_per_chip: {value: 1000000000,'], 1, 'TMP/bad.yaml:10: topology.cores_per_chip: mesh_width_tiles x mesh_height_tiles x cores_per'),
    ('mode_unknown', ['mode: barrier', 'mode: quantum'], 1, "TMP/bad.yaml:30: timing.mode: expected 'barrier', 'tick' or 'async', got 'quantum'"),
    ('accounting_unknown', ['accounting: marginal', 'accounting: magic'], 1, "TMP/bad.yaml:38: energy.accounting: expected 'marginal' or 'amortised', got 'magic'"),
    ('format_version_future', ['format_version: 1', 'format_version: 99'], 1, 'TMP/bad.yaml:1: format_version: expected 1 (the format this neuroemu reads), got 99'),
    ('format_version_string', ['format_version: 1', 'format_version: abc'], 1, "TMP/bad.yaml:1: format_version: expected 1 (the format this neuroemu reads), got 'abc'"),
    ('kind_gpu', ['kind: chip', 'kind: gpu'], 1, 'TMP/bad.yaml:1: compute: missing required field'),
    ('kind_other', ['kind: chip', 'kind: toaster'], 1, "TMP/bad.yaml:2: kind: expected 'chip' or 'gpu', got 'toaster'"),
    ('name_missing', ['name: tiny\n', ''], 1, 'TMP/bad.yaml:1: name: missing required field'),
    ('topology_missing', ['topology:', 'topologx:'], 1, 'TMP/bad.yaml:1: topology: missing required field'),
    ('neuron_model_unknown', ['neuron_models: [lif, cuba_lif]', 'neuron_models: [lif, hodgkin]'], 1, "TMP/bad.yaml:28: neuron_models[1]: unknown neuron model 'hodgkin': expected names from ade"),
    ('encoding_unknown', ['default_encoding: sparse', 'default_encoding: zipped'], 1, "TMP/bad.yaml:22: core.default_encoding: encoding 'zipped' is not one of "),
    ('python_tag', ['name: tiny', 'name: !!python/object/apply:os.system [echo pwned]'], 1, "TMP/bad.yaml:3: not valid YAML: could not determine a constructor for the tag 'tag:yaml.or"),
    ('tab_indent', ['  full_name: Tiny test chip', '\tfull_name: Tiny test chip'], 1, "TMP/bad.yaml:7: not valid YAML: found character '\\t' that cannot start any token"),
    ('duplicate_key', ['name: tiny', 'name: tiny\nname: other'], 1, 'TMP/bad.yaml:4: name: duplicate key (first given on line 3)'),
    ('unclosed_brace', ['neurons: {value: 32, source: test}', 'neurons: {value: 32, source: test'], 1, "TMP/bad.yaml:18: not valid YAML: expected ',' or '}', but got ':'"),
    ('top_level_list', ['format_version: 1', '- format_version: 1'], 1, "TMP/bad.yaml:2: not valid YAML: expected <block end>, but found '?'"),
    ('cores_per_tile_not_dividing', ['cores_per_tile: {value: 2,', 'cores_per_tile: {value: 3,'], 1, 'TMP/bad.yaml:10: topology.cores_per_chip: mesh_width_tiles x mesh_height_tiles x cores_per'),
    ('mesh_too_small', ['mesh_width_tiles: {value: 2,', 'mesh_width_tiles: {value: 1,'], 1, 'TMP/bad.yaml:10: topology.cores_per_chip: mesh_width_tiles x mesh_height_tiles x cores_per'),
    ('static_power_negative', ['per_chip: {value: 10,', 'per_chip: {value: -10,'], 1, 'TMP/bad.yaml:49: energy.static_power_mw.per_chip.value: expected greater than or equal to '),
]


CLI_CASES = [
    ('dur_nan', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--duration-ms', 'nan'], 1, 'duration_ms must be a positive, finite number of ms, got nan'),
    ('dur_inf', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--duration-ms', 'inf'], 1, 'duration_ms must be a positive, finite number of ms, got inf'),
    ('dur_neg', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--duration-ms', '-5'], 2, "Invalid value for '--duration-ms': -5.0 is not in the range x>0."),
    ('dur_zero', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--duration-ms', '0'], 2, "Invalid value for '--duration-ms': 0.0 is not in the range x>0."),
    ('dur_substep', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--duration-ms', '0.3'], 1, 'duration_ms = 0.3 ms is not a whole number of 1 ms steps: expected 1 ms'),
    ('dur_fraction', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--duration-ms', '10.5'], 1, 'duration_ms = 10.5 ms is not a whole number of 1 ms steps: expected 10 ms or 11 ms'),
    ('dur_text', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--duration-ms', 'ten'], 2, "Invalid value for '--duration-ms': 'ten' is not a valid float range."),
    ('dur_overflow', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--duration-ms', '1e400'], 1, 'duration_ms must be a positive, finite number of ms, got inf'),
    ('dur_huge', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--duration-ms', '1e12'], 1, 'this run would need about 2.09e+05 GiB of memory (60 neurons, 734 synapses, 1,000,000,000,'),
    ('cli_dt_nan', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--dt-ms', 'nan'], 1, "dt_ms must lie in [1e-06, 10000] ms (the bounds of a descriptor's timing.dt_ms), got nan"),
    ('cli_dt_zero', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--dt-ms', '0'], 2, "Invalid value for '--dt-ms': 0.0 is not in the range 1e-06<=x<=10000.0."),
    ('cli_dt_tiny', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--dt-ms', '1e-300'], 2, "Invalid value for '--dt-ms': 1e-300 is not in the range 1e-06<=x<=10000.0."),
    ('cli_dt_not_dividing', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--dt-ms', '0.7', '--duration-ms', '10'], 1, 'duration_ms = 10 ms is not a whole number of 0.7 ms steps: expected 9.8 ms or 10.5 ms'),
    ('window_nan', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--window-ms', 'nan'], 1, 'window_ms must be a positive, finite number of ms, got nan'),
    ('window_frac', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--window-ms', '1.5'], 1, 'window_ms = 1.5 ms is not a whole number of 1 ms steps: expected 1 ms or 2 ms'),
    ('window_zero', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--window-ms', '0'], 2, "Invalid value for '--window-ms': 0.0 is not in the range x>0."),
    ('seed_neg', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--seed', '-1'], 2, "Invalid value for '--seed': -1 is not in the range 0<=x<=4294967295."),
    ('seed_big', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--seed', '4294967296'], 2, "Invalid value for '--seed': 4294967296 is not in the range 0<=x<=4294967295."),
    ('seed_text', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--seed', 'one'], 2, "Invalid value for '--seed': 'one' is not a valid integer range."),
    ('chip_missing', ['run', 'TMP/m.py', '--chip', 'nosuchchip'], 1, "nosuchchip: no bundled chip 'nosuchchip' and no such file: expected a path or one of "),
    ('chip_typo', ['run', 'TMP/m.py', '--chip', 'lohi'], 1, "lohi: no bundled chip 'lohi' and no such file: expected a path or one of "),
    ('chip_traversal', ['run', 'TMP/m.py', '--chip', 'TMP/../../../../../../../../../../etc/passwd'], 1, '/../../../../../../../../../../etc/passwd:1: expected a YAML mapping, got str'),
    ('chip_devzero', ['chips', 'check', '/dev/zero'], 1, '/dev/zero: not a regular file (a folder, device or pipe): expected a YAML file'),
    ('chip_folder', ['chips', 'check', 'TMP'], 1, 'TMP: not a regular file (a folder, device or pipe): expected a YAML file'),
    ('chip_empty', ['chips', 'check', '/dev/null'], 1, '/dev/null: not a regular file (a folder, device or pipe): expected a YAML file'),
    ('gpu_missing', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--gpu', 'gtx9999'], 1, "gtx9999: no bundled GPU 'gtx9999' and no such file: expected a path or one of "),
    ('gpu_is_chip', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--gpu', 'TMP/tiny.yaml'], 1, "TMP/tiny.yaml:2: kind: expected 'gpu', got 'chip'"),
    ('op_bogus', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--operating-point', 'warp'], 1, "operating point 'warp': expected real-time, fast, slowdown=K (K > 0) or rate=R (inferences"),
    ('op_slow_zero', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--operating-point', 'slowdown=0'], 1, 'operating point slowdown=0.0: expected a finite factor > 0 (1 is real time, 20 is 20 times'),
    ('op_slow_neg', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--operating-point', 'slowdown=-2'], 1, 'operating point slowdown=-2.0: expected a finite factor > 0 (1 is real time, 20 is 20 time'),
    ('op_slow_text', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--operating-point', 'slowdown=abc'], 1, "operating point 'slowdown=abc': 'abc' is not a number; expected real-time, fast, slowdown="),
    ('op_rate_zero', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--operating-point', 'rate=0'], 1, 'operating point rate=0.0: expected a finite rate > 0 per second'),
    ('op_rate_nan', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--operating-point', 'rate=nan'], 1, 'operating point rate=nan: expected a finite rate > 0 per second'),
    ('op_rate_inf', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--operating-point', 'rate=inf'], 1, 'operating point rate=inf: expected a finite rate > 0 per second'),
    ('scope_moon', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--scope', 'moon'], 2, "Invalid value for '--scope': 'moon' is not one of "),
    ('boards_zero', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--boards', '0'], 2, "Invalid value for '--boards': 0 is not in the range x>=1."),
    ('maxchips_zero', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--max-chips', '0'], 2, "Invalid value for '--max-chips': 0 is not in the range x>=1."),
    ('maxnpc_zero', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--max-neurons-per-core', '0'], 2, "Invalid value for '--max-neurons-per-core': 0 is not in the range x>=1."),
    ('strategy_bad', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--strategy', 'random'], 2, "Invalid value for '--strategy': 'random' is not one of "),
    ('device_bad', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--device', 'gpu'], 2, "Invalid value for '--device': 'gpu' is not one of "),
    ('gpu_scope_bad', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--gpu-scope', 'chip'], 2, "Invalid value for '--gpu-scope': 'chip' is not one of "),
    ('param_noeq', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '-p', 'seed'], 1, "model parameter 'seed': expected key=value"),
    ('param_nokey', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '-p', '=3'], 1, "model parameter '=3': expected key=value"),
    ('param_unknown', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '-p', 'size=3'], 1, "model 'm' has no parameter 'size'; its parameters"),
    ('param_badtype', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '-p', 'seed=abc'], 1, "model parameter seed: expected int, got 'abc'"),
    ('param_twice', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '-p', 'seed=1', '-p', 'seed=2'], 2, "Invalid value for '-p' / '--param': seed is given twice (-p seed=1 and -p seed=2): expecte"),
    ('cuba_scale_neg', ['map', 'cuba', '--chip', 'loihi', '-p', 'scale=-1'], 1, 'parameter scale must be a positive, finite number, got -1.0'),
    ('cuba_scale_nan', ['map', 'cuba', '--chip', 'loihi', '-p', 'scale=nan'], 1, 'parameter scale must be a positive, finite number, got nan'),
    ('cuba_scale_huge', ['map', 'cuba', '--chip', 'loihi', '-p', 'scale=5e6'], 1, 'the cuba model at scale 5e+06 would need about 2.4e+04 GiB'),
    ('cuba_p_two', ['map', 'cuba', '--chip', 'loihi', '-p', 'p=2'], 1, 'parameter p must lie in [0, 1], got 2.0'),
    ('coba_p_neg', ['map', 'coba', '--chip', 'loihi', '-p', 'p=-0.1'], 1, 'parameter p must lie in [0, 1], got -0.1'),
    ('micro_scale_zero', ['map', 'microcircuit', '--chip', 'loihi', '-p', 'scale=0'], 1, "model 'microcircuit': build({'scale': 0.0}) failed: ValueError: scale and k_scale must be "),
    ('model_missing', ['map', 'nosuchmodel', '--chip', 'loihi'], 1, "no bundled model 'nosuchmodel' and no such file: expected a path or one of "),
    ('model_traversal', ['map', '../../tmp/evil', '--chip', 'loihi'], 1, "no bundled model '../../tmp/evil' and no such file: expected a path or one of "),
    ('model_missing_py', ['map', 'TMP/none.py', '--chip', 'loihi'], 1, 'TMP/none.py: no such model file'),
    ('model_folder', ['map', 'TMP', '--chip', 'loihi'], 1, 'TMP: cannot be imported as a Python module'),
    ('trace_to_folder', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--trace', 'TMP'], 2, "Invalid value for '--trace': File 'TMP' is a directory."),
    ('trace_missing_folder', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--trace', 'TMP/no/such/run.h5'], 1, 'cannot write the trace TMP/no/such/run.h5: folder TMP/no/such does not exist'),
    ('trace_over_input', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--trace', 'TMP/m.py', '--force'], 1, 'TMP/m.py: the trace would overwrite an input of this command: expected another file name'),
    ('trace_over_chip', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--trace', 'TMP/tiny.yaml', '--force'], 1, 'TMP/tiny.yaml: the trace would overwrite an input of this command: expected another file n'),
    ('trace_exists', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--trace', 'TMP/m.py'], 1, 'TMP/m.py: the trace would overwrite an input of this command: expected another file name'),
    ('inspect_missing', ['inspect', 'TMP/nothing.h5'], 1, 'TMP/nothing.h5: no such trace file'),
    ('inspect_text', ['inspect', 'TMP/m.py'], 1, 'TMP/m.py: not an HDF5 file (or its header is corrupted)'),
    ('inspect_empty', ['inspect', '/dev/null'], 1, '/dev/null: not a regular file (a folder, device or pipe): expected a trace'),
    ('inspect_folder', ['inspect', 'TMP'], 2, "Invalid value for 'TRACE': File 'TMP' is a directory."),
    ('plot_missing', ['plot', 'TMP/nothing.h5', '--kind', 'raster', '-o', 'TMP/x.png'], 1, 'TMP/nothing.h5: no such trace file'),
    ('plot_kind_bad', ['plot', 'TMP/m.py', '--kind', 'pie', '-o', 'TMP/x.png'], 2, "Invalid value for '--kind': 'pie' is not one of "),
    ('compare_no_chip', ['compare', 'TMP/m.py'], 2, '--chip is needed at least once (the network runs on the first)'),
    ('compare_nan', ['compare', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--duration-ms', 'nan'], 1, 'duration_ms must be a positive, finite number of ms, got nan'),
    ('map_maxchips_too_few', ['map', 'microcircuit', '--chip', 'TMP/tiny.yaml', '--max-chips', '1'], 1, "neuron 0 of population 'L23E' has 4977 in-synapses taking 79632 bits of synapse memory; co"),
    ('unknown_command', ['frobnicate'], 2, "No such command 'frobnicate'."),
    ('unknown_option', ['run', 'TMP/m.py', '--chip', 'TMP/tiny.yaml', '--turbo'], 2, "No such option '--turbo'."),
    ('chips_show_missing', ['chips', 'show', 'nosuch'], 1, "nosuch: no bundled chip or GPU 'nosuch' and no such file: expected a path or one of "),
    ('validate_unknown_case', ['validate', '--case', 'nosuch'], 1, "no validation case 'nosuch': expected one of "),
]


EXPERIMENT_CASES = [
    ('exp_seed_neg', ['seeds: [1, 2]', 'seeds: [1, -2]'], 1, 'TMP/e.yaml:7: seeds[1]: seed -2 is outside [0, 2**32 - 1], the seeds Brian2 accepts'),
    ('exp_seed_big', ['seeds: [1, 2]', 'seeds: [1, 4294967296]'], 1, 'TMP/e.yaml:7: seeds[1]: seed 4294967296 is outside [0, 2**32 - 1], the seeds Brian2 accept'),
    ('exp_seed_text', ['seeds: [1, 2]', 'seeds: [1, two]'], 1, "TMP/e.yaml:7: seeds[1]: expected a valid integer, got 'two'"),
    ('exp_seed_dup', ['seeds: [1, 2]', 'seeds: [1, 1]'], 1, 'TMP/e.yaml:7: seeds[1]: seed 1 is listed twice: expected distinct seeds'),
    ('exp_seeds_empty', ['seeds: [1, 2]', 'seeds: []'], 1, 'TMP/e.yaml:7: seeds: List should have at least 1 item after validation, not 0, got []'),
    ('exp_seed_float', ['seeds: [1, 2]', 'seeds: [1, 2.5]'], 1, 'TMP/e.yaml:7: seeds[1]: expected a valid integer, got 2.5'),
    ('exp_duration_nan', ['duration_ms: 20', 'duration_ms: .nan'], 1, 'TMP/e.yaml:6: duration_ms: expected a finite number, got nan'),
    ('exp_duration_neg', ['duration_ms: 20', 'duration_ms: -20'], 1, 'TMP/e.yaml:6: duration_ms: expected greater than 0, got -20'),
    ('exp_duration_frac', ['duration_ms: 20', 'duration_ms: 20.5'], 1, 'TMP/e.yaml:6: duration_ms on tiny: duration_ms = 20.5 ms is not a whole number of 1 ms ste'),
    ('exp_duration_huge', ['duration_ms: 20', 'duration_ms: 1e12'], 1, 'TMP/e.yaml:6: duration_ms on tiny: this run would need about 2.09e+05 GiB of memory (60 ne'),
    ('exp_chip_missing', ['chips: [tiny.yaml]', 'chips: [nosuch]'], 1, "TMP/e.yaml:5: chips[0]: no bundled chip 'nosuch' and no such file: expected a path or one "),
    ('exp_chips_empty', ['chips: [tiny.yaml]', 'chips: []'], 1, 'TMP/e.yaml:5: chips: List should have at least 1 item after validation, not 0, got []'),
    ('exp_chip_traversal', ['chips: [tiny.yaml]', 'chips: [../../../etc/passwd]'], 1, 'TMP/e.yaml:5: chips[0]: expected a YAML mapping, got str'),
    ('exp_model_missing', ['model: m.py', 'model: none.py'], 1, 'TMP/e.yaml:4: model: TMP/none.py: no such model file'),
    ('exp_model_name_traversal', ['model: m.py', 'model: ../evil'], 1, "TMP/e.yaml:4: model: no bundled model '../evil' and no such file: expected a path or one o"),
    ('exp_unknown_key', ['device: numpy', 'device: numpy\nturbo: true'], 1, 'TMP/e.yaml:9: turbo: unknown key; expected one of: chips, description, device, duration_ms'),
    ('exp_device_bad', ['device: numpy', 'device: quantum'], 1, "TMP/e.yaml:8: device: expected 'auto', 'runtime', 'cython', 'numpy' or 'cpp', got 'quantum'"),
    ('exp_param_unknown', ['duration_ms: 20', 'duration_ms: 20\nparams:\n  size: 3'], 1, "TMP/e.yaml:8: params.size: model 'm.py' has no parameter 'size'; its parameters"),
    ('exp_param_bad_type', ['duration_ms: 20', 'duration_ms: 20\nparams:\n  seed: abc'], 1, "TMP/e.yaml:7: params: model parameter seed: expected int, got 'abc'"),
    ('exp_kind_chip', ['kind: experiment', 'kind: chip'], 1, "TMP/e.yaml:2: kind: expected 'experiment', got 'chip'"),
    ('exp_version', ['format_version: 1', 'format_version: 7'], 1, 'TMP/e.yaml:1: format_version: expected 1 (the format this neuroemu reads), got 7'),
    ('exp_folder_is_file', ['folder: out', 'folder: m.py'], 1, 'cannot write results to TMP/m.py: TMP/m.py is not a folder'),
    ('exp_table_traversal', ['table: results.csv', 'table: ../results.csv'], 1, 'TMP/e.yaml:12: outputs.table: expected a file name ending in .csv (the table goes into out'),
    ('exp_alias_bomb', ['name: hostile', 'name: hostile\nx: &a [1,1,1,1,1,1,1,1,1]\ny: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nz: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nw: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\nv: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nu: [*e,*e,*e,*e,*e,*e,*e,*e,*e]'], 1, 'TMP/e.yaml:9: its aliases expand to more than 200,000 values: expected a descriptor, not a'),
    ('exp_strategy_bad', ['device: numpy', 'device: numpy\nstrategy: random'], 1, "TMP/e.yaml:9: strategy: expected 'fill', 'balanced' or 'min-traffic', got 'random'"),
    ('exp_gpu_missing', ['device: numpy', 'device: numpy\ngpus: [gtx9999]'], 1, "TMP/e.yaml:9: gpus[0]: no bundled GPU 'gtx9999' and no such file: expected a path or one o"),
    ('exp_python_tag', ['name: hostile', 'name: !!python/name:os.system'], 1, "TMP/e.yaml:3: not valid YAML: could not determine a constructor for the tag 'tag:yaml.org,"),
    ('exp_table_not_csv', ['table: results.csv', 'table: results.txt'], 1, 'TMP/e.yaml:12: outputs.table: expected a file name ending in .csv (the table goes into out'),
]


MODEL_FILE_CASES = [
    ('model_syntax', 'def build(:\n', 1, 'TMP/bad_model.py: importing the model failed: SyntaxError: invalid syntax (bad_model.py, l'),
    ('model_no_build', 'x = 1\n', 1, 'TMP/bad_model.py: a model file must define build(**params) -> Network'),
    ('model_build_not_callable', 'build = 3\n', 1, 'TMP/bad_model.py: a model file must define build(**params) -> Network'),
    ('model_build_returns_none', 'def build(seed: int = 0):\n    return None\n', 1, "model 'bad_model': build() returned NoneType, not a Network"),
    ('model_build_raises', "def build(seed: int = 0):\n    raise RuntimeError('boom')\n", 1, "model 'bad_model': build({}) failed: RuntimeError: boom"),
    ('model_import_error', 'import nosuchmodule_xyz\ndef build(seed: int = 0):\n    pass\n', 1, "TMP/bad_model.py: importing the model failed: ModuleNotFoundError: No module named 'nosuch"),
    ('model_keyboard', 'def build(seed: int = 0):\n    raise MemoryError()\n', 1, "model 'bad_model': build({}) failed: MemoryError: "),
    ('model_recursion', 'def build(seed: int = 0):\n    return build(seed)\n', 1, "model 'bad_model': build({}) failed: RecursionError: maximum recursion depth exceeded"),
    ('model_no_seed', 'def build():\n    return None\n', 1, "model 'bad_model': build() returned NoneType, not a Network"),
]

# fmt: on


@pytest.fixture
def folder(tmp_path: Path, monkeypatch) -> Path:
    """A folder with a valid tiny chip and model; no simulation may run."""

    def no_simulation(*args, **kwargs):
        raise AssertionError("a hostile input reached the simulation")

    monkeypatch.setattr("neuroemu.pipeline.simulate", no_simulation)
    (tmp_path / "tiny.yaml").write_text(TINY_CHIP_YAML)
    (tmp_path / "m.py").write_text(MODEL)
    return tmp_path


def refuse(folder: Path, args: list[str], code: int, fragment: str) -> None:
    """Run ``neuroemu ARGS``; assert the exit status and the one error line."""
    args = [a.replace("TMP", str(folder)) for a in args]
    done = CliRunner().invoke(cli, args, prog_name="neuroemu")
    # Not a crash: an exit status, no Python exception escaping the command line.
    assert done.exception is None or isinstance(done.exception, SystemExit), done.exception
    assert done.exit_code == code, done.output
    errors = [line for line in done.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) >= 1 and "Traceback" not in done.output, done.output
    assert fragment.replace("TMP", str(folder)) in errors[-1], errors[-1]


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) >= 1, f"the case edits text the valid file does not have: {old!r}"
    return text.replace(old, new, 1)


@pytest.mark.parametrize(("case", "change", "code", "fragment"), DESCRIPTOR_CASES)
def test_descriptor(folder, case, change, code, fragment):
    (folder / "bad.yaml").write_text(edit(TINY_CHIP_YAML, *change))
    refuse(folder, ["chips", "check", "TMP/bad.yaml"], code, fragment)


@pytest.mark.parametrize(("case", "args", "code", "fragment"), CLI_CASES)
def test_command_line(folder, case, args, code, fragment):
    refuse(folder, args, code, fragment)


@pytest.mark.parametrize(("case", "change", "code", "fragment"), EXPERIMENT_CASES)
def test_experiment_file(folder, case, change, code, fragment):
    (folder / "e.yaml").write_text(edit(EXPERIMENT_YAML, *change))
    refuse(folder, ["experiment", "TMP/e.yaml"], code, fragment)
    assert not (folder / "out" / "results.csv").exists()


@pytest.mark.parametrize(("case", "source", "code", "fragment"), MODEL_FILE_CASES)
def test_model_file(folder, case, source, code, fragment):
    (folder / "bad_model.py").write_text(source)
    refuse(folder, ["map", "TMP/bad_model.py", "--chip", "TMP/tiny.yaml"], code, fragment)


def test_the_suite_has_at_least_150_distinct_cases():
    cases = DESCRIPTOR_CASES + CLI_CASES + EXPERIMENT_CASES + MODEL_FILE_CASES
    assert len({case[0] for case in cases}) == len(cases) >= 150
