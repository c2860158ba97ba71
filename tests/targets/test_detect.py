"""Detection from real /proc/cpuinfo texts (tests/fixtures/cpuinfo, see its README)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench import targets

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "cpuinfo"
ROCK_5B_SYSFS = {"max_mhz": {0: 1800, 1: 1800, 2: 1800, 3: 1800, 4: 2400, 5: 2400, 6: 2400,
                             7: 2400}, "policies": [[0, 1, 2, 3], [4, 5], [6, 7]]}


def cpuinfo(name: str) -> str:
    return (FIXTURES / name).read_text()


@pytest.mark.parametrize(("fixture", "board", "cores"), [
    ("raspberry-pi-5.txt", "raspberry-pi-5", {"cortex-a76": 4}),
    ("raspberry-pi-4.txt", "raspberry-pi-4", {"cortex-a72": 4}),
    ("raspberry-pi-3b-v8l.txt", "raspberry-pi-3b-plus", {"cortex-a53": 4}),
    ("rk3588-rock-5b.txt", "radxa-rock-5b", {"cortex-a55": 4, "cortex-a76": 4}),
    ("aws-graviton2.txt", "aws-graviton2", {"neoverse-n1": 1}),
    ("aws-graviton3.txt", "aws-graviton3", {"neoverse-v1": 1}),
    ("jetson-nano.txt", "jetson-nano", {"cortex-a57": 4}),
    ("jetson-xavier-agx.txt", "jetson-agx-xavier", {"nvidia-carmel": 8}),
    ("snapdragon-865.txt", "qualcomm-rb5", {"kryo-4xx-silver": 4, "cortex-a77": 4}),
])
def test_real_cpuinfo_gives_its_core_types_and_closest_board(
        fixture: str, board: str, cores: dict[str, int]) -> None:
    detection = targets.detect(cpuinfo(fixture))
    assert detection.is_arm and not detection.unknown
    found: dict[str, int] = {}
    for cluster in detection.clusters:
        assert cluster.core is not None
        found[cluster.core.key] = found.get(cluster.core.key, 0) + len(cluster.cores)
    assert found == cores
    assert detection.board == board


def test_rk3588_with_cpufreq_gives_three_clusters_and_their_clocks() -> None:
    detection = targets.detect(cpuinfo("rk3588-rock-5b.txt"), ROCK_5B_SYSFS)
    assert [c.cores for c in detection.clusters] == [[0, 1, 2, 3], [4, 5], [6, 7]]
    assert [c.max_mhz for c in detection.clusters] == [1800, 2400, 2400]
    target = detection.target
    assert target is not None and target.name == "radxa-rock-5b"
    assert target.peak_gops("fp32", cluster="big") == pytest.approx(4 * 16 * 2.4)


def test_a_sysfs_folder_gives_clocks_policies_and_the_device_tree_model(tmp_path: Path) -> None:
    cpu = tmp_path / "devices/system/cpu"
    for core, khz in ROCK_5B_SYSFS["max_mhz"].items():
        (cpu / f"cpu{core}/cpufreq").mkdir(parents=True)
        (cpu / f"cpu{core}/cpufreq/cpuinfo_max_freq").write_text(f"{khz * 1000}\n")
    for policy in ROCK_5B_SYSFS["policies"]:
        (cpu / f"cpufreq/policy{policy[0]}").mkdir(parents=True)
        (cpu / f"cpufreq/policy{policy[0]}/related_cpus").write_text(
            " ".join(map(str, policy)) + "\n")
    (tmp_path / "firmware/devicetree/base").mkdir(parents=True)
    (tmp_path / "firmware/devicetree/base/model").write_text("Radxa ROCK 5B\x00")
    detection = targets.detect(cpuinfo("rk3588-rock-5b.txt"), tmp_path)
    assert detection.model == "Radxa ROCK 5B"
    assert len(detection.clusters) == 3 and detection.clusters[0].max_mhz == 1800
    assert detection.board == "radxa-rock-5b"


def test_two_boards_with_the_same_cores_stay_ambiguous_until_the_clock_decides() -> None:
    text = cpuinfo("amlogic-a311d.txt")
    alone = targets.detect(text)
    assert {alone.board, *alone.ambiguous} == {"khadas-vim3", "odroid-n2-plus"}
    clocked = targets.detect(text, {"max_mhz": {0: 1800, 1: 1800, 2: 2208, 3: 2208, 4: 2208,
                                                5: 2208}})
    assert clocked.board == "khadas-vim3" and not clocked.ambiguous


def test_features_come_from_the_features_line_not_from_the_core() -> None:
    # An early Cortex-A55 without dotprod: the RK3588 text with asimddp taken out.
    text = cpuinfo("rk3588-rock-5b.txt").replace(" asimddp", "")
    detection = targets.detect(text, ROCK_5B_SYSFS)
    little = detection.clusters[0]
    assert little.core is not None and little.core.key == "cortex-a55"
    assert little.core.features["dotprod"] and not little.features["dotprod"]
    target = detection.target
    assert target is not None
    with_dotprod = targets.detect(cpuinfo("rk3588-rock-5b.txt"), ROCK_5B_SYSFS).target
    assert with_dotprod is not None
    assert target.peak_gops("int8", cluster="little") < \
        with_dotprod.peak_gops("int8", cluster="little")


def test_core_blocks_in_any_order_group_by_core_type() -> None:
    blocks = cpuinfo("rk3588-rock-5b.txt").strip().split("\n\n")
    cores, tail = blocks[:8], blocks[8:]
    shuffled = [cores[i] for i in (4, 0, 5, 1, 6, 2, 7, 3)] + tail
    detection = targets.detect("\n\n".join(shuffled) + "\n")
    assert sorted(sorted(c.cores) for c in detection.clusters) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert detection.board == "radxa-rock-5b"


def test_a_leading_processor_line_and_mixed_implementers_are_read() -> None:
    detection = targets.detect(cpuinfo("snapdragon-865.txt"))
    assert detection.model_name == "AArch64 Processor rev 14 (aarch64)"
    assert {c.implementer for c in detection.clusters} == {0x51, 0x41}


def test_fields_printed_once_after_the_blocks_apply_to_every_core() -> None:
    text = ("processor\t: 0\nBogoMIPS\t: 38.40\n\nprocessor\t: 1\nBogoMIPS\t: 38.40\n\n"
            "Features\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\n"
            "CPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd03\nCPU revision\t: 4\n")
    detection = targets.detect(text)
    assert len(detection.clusters) == 1 and detection.clusters[0].cores == [0, 1]
    assert detection.clusters[0].name == "Cortex-A53"


@pytest.mark.parametrize(("fixture", "board"), [
    ("raspberry-pi-3b-armv7.txt", "raspberry-pi-3b-plus"),
    ("raspberry-pi-4-armv7.txt", "raspberry-pi-4")])
def test_aarch32_user_space_on_an_armv8_core_is_named_and_still_matched(
        fixture: str, board: str) -> None:
    detection = targets.detect(cpuinfo(fixture))
    assert detection.userspace == "aarch32"
    assert any("aarch32" in w for w in detection.warnings)
    assert detection.clusters[0].features["asimd"]  # 'neon' in the 32-bit Features line
    assert not detection.clusters[0].features["fp16"]  # 'half' is not fp16 arithmetic
    assert detection.board == board


def test_an_unknown_part_is_reported_with_its_midr_and_never_guessed() -> None:
    text = cpuinfo("raspberry-pi-5.txt").replace("0xd0b", "0xd8f").split("\nHardware")[0]
    detection = targets.detect(text)
    assert detection.is_arm and detection.unknown
    assert "0x41:0xd8f" in detection.clusters[0].name
    assert detection.board is None and detection.target is None
    assert any("not in the catalog" in w for w in detection.warnings)


def test_an_x86_cpuinfo_is_reported_as_not_arm() -> None:
    detection = targets.detect(cpuinfo("x86_64-xeon.txt"))
    assert not detection.is_arm
    assert detection.vendor == "GenuineIntel" and "Xeon" in (detection.model_name or "")
    assert detection.board is None and detection.target is None
    assert "not an Arm machine" in repr(detection)


def test_the_local_device_is_reported_as_what_it_is() -> None:
    import platform

    from workbench.jobs import detect_target

    detection = detect_target("local")
    if platform.machine() in ("aarch64", "arm64"):
        assert detection.is_arm and detection.clusters
    else:
        assert not detection.is_arm and detection.target is None
        assert detection.vendor and detection.vendor in Path("/proc/cpuinfo").read_text()


def test_sysfs_readings_that_are_not_numbers_raise_invalid_option_value() -> None:
    from workbench.errors import InvalidOptionValue

    text = cpuinfo("raspberry-pi-5.txt")
    with pytest.raises(InvalidOptionValue, match="not a core number or clock"):
        targets.detect(text, {"max_khz": {"0": "2.4 GHz"}})
    with pytest.raises(InvalidOptionValue, match=r"detect\(sysfs=\.\.\.\)"):
        targets.detect(text, {"policies": [["cpu0", "cpu1"]]})
