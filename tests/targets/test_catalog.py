"""The catalog's data: sources for every figure, consistency, lookups and display."""

from __future__ import annotations

import pytest

from workbench import errors, targets
from workbench.emulator.presets import PRESETS
from workbench.targets.target import Core, Target, board_data, core_data

REQUIRED_CORES = (
    "cortex-a35", "cortex-a53", "cortex-a55", "cortex-a57", "cortex-a72", "cortex-a73",
    "cortex-a75", "cortex-a76", "cortex-a77", "cortex-a78", "cortex-a510", "cortex-a520",
    "cortex-a710", "cortex-a715", "cortex-a720", "cortex-x1", "cortex-x2", "cortex-x3",
    "cortex-x4", "neoverse-n1", "neoverse-n2", "neoverse-v1", "neoverse-v2", "nvidia-carmel")
CORE_FIGURES = ("midr", "arch", "features", "throughput", "cache")
BOARD_FIGURES = ("soc", "clusters", "memory", "bandwidth", "ram", "accelerators")


def test_the_catalog_has_the_required_cores_and_at_least_twelve_boards() -> None:
    assert set(REQUIRED_CORES) <= set(targets.names("cores"))
    assert len(targets.names("cores")) >= 20
    assert len(targets.names("boards")) >= 12


@pytest.mark.parametrize("name", sorted(core_data()["cores"]))
def test_every_core_figure_names_a_known_source(name: str) -> None:
    entry = core_data()["cores"][name]
    assert set(entry["sources"]) == set(CORE_FIGURES)
    assert set(entry["sources"].values()) <= set(core_data()["sources"])


@pytest.mark.parametrize("name", sorted(board_data()["boards"]))
def test_every_board_figure_names_a_known_source(name: str) -> None:
    entry = board_data()["boards"][name]
    assert set(entry["sources"]) == set(BOARD_FIGURES)
    assert set(entry["sources"].values()) <= set(board_data()["sources"])


def test_derived_sources_say_from_what() -> None:
    for data in (core_data(), board_data()):
        for key, source in data["sources"].items():
            assert source["title"], key
            assert source.get("derived", False) == key.startswith("derived"), key
            if source.get("derived"):
                assert source["title"].startswith("Derived:"), key


def test_every_board_cluster_uses_a_catalog_core() -> None:
    for name, entry in board_data()["boards"].items():
        for cluster in entry["clusters"]:
            assert cluster["core"] in core_data()["cores"], (name, cluster)
            assert cluster["count"] >= 1 and cluster["max_ghz"] > 0


def test_midr_implementer_and_part_pairs_are_unique() -> None:
    pairs = [(c.implementer, c.part) for c in (targets.get(n) for n in targets.names("cores"))
             if isinstance(c, Core)]
    assert len(pairs) == len(set(pairs))


def test_known_midr_parts_match_the_kernel_tables() -> None:
    expected = {"cortex-a53": 0xD03, "cortex-a55": 0xD05, "cortex-a72": 0xD08,
                "cortex-a76": 0xD0B, "neoverse-n1": 0xD0C, "neoverse-v1": 0xD40,
                "cortex-a520": 0xD80, "cortex-x4": 0xD82, "neoverse-v2": 0xD4F}
    for name, part in expected.items():
        core = targets.get(name)
        assert isinstance(core, Core) and core.implementer == 0x41 and core.part == part
    carmel = targets.get("nvidia-carmel")
    assert isinstance(carmel, Core) and (carmel.implementer, carmel.part) == (0x4E, 0x004)


def test_bandwidth_matches_bus_width_times_transfer_rate() -> None:
    for name, entry in board_data()["boards"].items():
        memory = entry["memory"]
        derived = memory["bus_bits"] / 8 * memory["mt_s"] / 1000
        assert memory["bandwidth_gbs"] == pytest.approx(derived, rel=0.02), name


def test_an_unknown_name_raises_unknown_target_with_close_matches() -> None:
    with pytest.raises(errors.UnknownTarget) as caught:
        targets.get("raspbery-pi-5")
    assert isinstance(caught.value, errors.WorkbenchError)
    assert "raspberry-pi-5" in str(caught.value)


def test_a_board_peak_scales_with_threads_and_int8_beats_fp32_with_dotprod() -> None:
    pi5 = targets.get("raspberry-pi-5")
    assert isinstance(pi5, Target)
    assert pi5.peak_gops("fp32", threads=4) == pytest.approx(4 * 16 * 2.4)
    assert pi5.peak_gops("fp32", threads=1) == pytest.approx(16 * 2.4)
    assert pi5.peak_gops("int8", threads=4) == pytest.approx(4 * 64 * 2.4)


def test_big_and_little_clusters_of_a_big_little_board_have_their_own_peaks() -> None:
    rock = targets.get("radxa-rock-5b")
    assert isinstance(rock, Target)
    assert rock.peak_gops("fp32", cluster="big") == pytest.approx(4 * 16 * 2.4)
    assert rock.peak_gops("fp32", cluster="little") == pytest.approx(4 * 8 * 1.8)
    with pytest.raises(errors.InvalidOptionValue):
        rock.peak_gops("fp32", threads=5, cluster="big")


def test_targets_and_cores_show_themselves() -> None:
    pi5, core = targets.get("raspberry-pi-5"), targets.get("cortex-a76")
    assert "Cortex-A76" in repr(pi5) and "17.1 GB/s" in repr(pi5)
    assert "<table>" in pi5._repr_html_() and "VideoCore VII" in pi5._repr_html_()
    assert "0x41:0xd0b" in repr(core) and "dotprod" in core._repr_html_()


@pytest.mark.parametrize("board", sorted(PRESETS))
def test_each_emulator_preset_names_a_catalog_board_whose_core_qemu_emulates(board: str) -> None:
    preset = PRESETS[board]
    target = targets.get(preset.board)
    assert isinstance(target, Target)
    assert preset.qemu_cpu in {c.core.qemu_cpu for c in target.clusters}
    assert preset.part in {c.core.part for c in target.clusters}
