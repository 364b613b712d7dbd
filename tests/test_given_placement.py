"""A placement the user gives (a core per neuron, or cores per population), checked like the
strategies' placements, with the same errors."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import make_tiny_network
from test_mapping import check_mapping

from neuroemu.cli.main import cli
from neuroemu.errors import CapacityError
from neuroemu.mapping.given import Placement, PlacementError, load_placement
from neuroemu.mapping.mapping import map_network
from neuroemu.network.network import Network, Population

PLACEMENT_YAML = """\
format_version: 1
kind: placement
populations:
  exc: "1-2"
  inh: [4]
"""


def test_populations_land_on_exactly_the_cores_given(tiny_chip, tmp_path):
    network = make_tiny_network()  # exc: 40 neurons, inh: 20
    path = tmp_path / "layout.yaml"
    path.write_text(PLACEMENT_YAML)
    mapping = map_network(network, tiny_chip, placement=load_placement(path))
    core = mapping.core_of_neuron
    # 40 neurons split over cores 1 and 2 in order, 20 each; inh wholly on core 4 (chip 2).
    assert core[:20].tolist() == [1] * 20 and core[20:40].tolist() == [2] * 20
    assert core[40:].tolist() == [4] * 20
    assert mapping.strategy == "given" and mapping.n_chips == 2
    assert sorted(mapping.used_cores.tolist()) == [1, 2, 4]
    assert any("given placement from" in w for w in mapping.warnings)
    check_mapping(network, tiny_chip, mapping)  # usage, fan-out and destinations recounted


def test_uneven_split_differs_by_at_most_one_neuron(tiny_chip):
    network = Network((Population("p", 31),))
    placement = Placement("<code>", population_cores={"p": [0, 1, 2]})
    core = map_network(network, tiny_chip, placement=placement).core_of_neuron
    assert np.bincount(core).tolist() == [11, 10, 10]


def test_a_core_per_neuron_from_npy(tiny_chip, tmp_path):
    network = make_tiny_network()
    cores = np.arange(network.n_neurons) % 3
    np.save(tmp_path / "cores.npy", cores)
    mapping = map_network(network, tiny_chip, placement=load_placement(tmp_path / "cores.npy"))
    assert mapping.core_of_neuron.tolist() == cores.tolist()
    check_mapping(network, tiny_chip, mapping)


def test_an_overfull_core_gets_the_strategies_error(tiny_chip):
    network = make_tiny_network()  # 60 neurons; tiny cores hold 32
    placement = Placement.per_neuron(np.zeros(network.n_neurons, dtype=int))
    with pytest.raises(CapacityError) as caught:
        map_network(network, tiny_chip, placement=placement)
    assert caught.value.resource == "neurons" and "core 0" in str(caught.value)
    assert "needs 60 neurons" in str(caught.value)


def test_a_core_beyond_the_chip_budget_is_refused(tiny_chip):
    network = make_tiny_network()
    cores = np.zeros(network.n_neurons, dtype=int)
    cores[:20], cores[20:40], cores[40:] = 0, 1, 400
    with pytest.raises(CapacityError, match="uses core 400, on chip 101"):
        map_network(network, tiny_chip, placement=Placement.per_neuron(cores))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (PLACEMENT_YAML.replace("exc:", "ecx:"), "no population 'ecx'"),
        (PLACEMENT_YAML.replace("  inh: [4]\n", ""), "population(s) inh are not placed"),
        (PLACEMENT_YAML.replace('"1-2"', '"2-1"'), "expected first-last with first <= last"),
        (PLACEMENT_YAML.replace('"1-2"', '"0-99999999"'), "at most 16,777,216 cores"),
        (PLACEMENT_YAML.replace("[4]", "[4, 4]"), "a core is listed twice"),
        (PLACEMENT_YAML.replace("[4]", "[-1]"), "core -1 is not a core number"),
        (PLACEMENT_YAML.replace("[4]", "four"), "expected a core, a list of cores or a range"),
        (PLACEMENT_YAML.replace("[4]", "yes"), "expected a core, a list of cores or a range"),
        (PLACEMENT_YAML.replace("kind: placement", "kind: chip"), "kind: expected 'placement'"),
        (PLACEMENT_YAML + "extra: 1\n", "extra: unknown key"),
    ],
)
def test_bad_placement_files_say_where(tiny_chip, tmp_path, text, message):
    path = tmp_path / "layout.yaml"
    path.write_text(text)
    with pytest.raises(PlacementError, match=message.replace("(", r"\(").replace(")", r"\)")):
        map_network(make_tiny_network(), tiny_chip, placement=load_placement(path))


def test_bad_arrays_are_refused(tiny_chip, tmp_path):
    network = make_tiny_network()
    with pytest.raises(PlacementError, match="60 neurons"):
        map_network(network, tiny_chip, placement=Placement.per_neuron(np.zeros(3, int)))
    with pytest.raises(PlacementError, match="integer cores"):
        Placement.per_neuron(np.zeros(60))
    np.savez(tmp_path / "p.npz", other=np.zeros(60, int))
    with pytest.raises(PlacementError, match="core_of_neuron"):
        load_placement(tmp_path / "p.npz")
    with pytest.raises(PlacementError, match=r"\.yaml"):
        load_placement(tmp_path / "p.txt")


def test_one_warning_per_unsupported_model(tiny_chip):
    network = Network(tuple(Population(f"layer{k}", 4, "coba_lif") for k in range(5)))
    mapping = map_network(network, tiny_chip)
    assert len(mapping.warnings) == 1
    assert "'layer0', 'layer1', 'layer2' and 2 more" in mapping.warnings[0]


def test_map_command_takes_a_placement(files, tmp_path):
    model, chip = files
    path = tmp_path / "layout.yaml"
    path.write_text(PLACEMENT_YAML)
    done = CliRunner().invoke(cli, ["map", model, "--chip", chip, "--placement", str(path)])
    assert done.exit_code == 0, done.output
    assert "given" in done.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(PLACEMENT_YAML.replace("exc:", "ecx:"))
    done = CliRunner().invoke(cli, ["map", model, "--chip", chip, "--placement", str(bad)])
    assert done.exit_code == 1 and "no population 'ecx'" in done.output
