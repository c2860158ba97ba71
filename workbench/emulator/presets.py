"""Board presets for the emulated Arm board: a catalog board, a QEMU CPU model, a cpuinfo text.

qemu-user shows the host's /proc/cpuinfo to emulated programs, and aarch64
onnxruntime then fails at import; the board gets the preset's text instead,
so detection, feature flags and the kernels the runtime picks behave as on
that core type. Only cores Debian's qemu-user (7.2) can emulate have a
preset: cortex-a35, a53, a57, a72, a76, neoverse-n1, a64fx (and max).
MIDR parts and Features lines follow the Linux kernel's cputype.h and the
cpuinfo these boards print.
"""

from __future__ import annotations

from dataclasses import dataclass

QEMU_CPUS = ("cortex-a35", "cortex-a53", "cortex-a57", "cortex-a72", "cortex-a76",
             "neoverse-n1", "a64fx", "max")


@dataclass(frozen=True)
class Preset:
    """One emulated board."""

    board: str          #: catalog board name
    device: str         #: device name it is registered as
    qemu_cpu: str       #: QEMU CPU model
    part: int           #: MIDR part number (implementer 0x41, Arm)
    variant: int
    revision: int
    features: str       #: the Features line of that core
    model: str          #: the board's model line

    def cpuinfo(self, cores: int) -> str:
        """/proc/cpuinfo as the board prints it, for ``cores`` cores."""
        blocks = [
            f"processor\t: {i}\nBogoMIPS\t: 108.00\nFeatures\t: {self.features}\n"
            f"CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: {self.variant:#x}\n"
            f"CPU part\t: {self.part:#05x}\nCPU revision\t: {self.revision}\n"
            for i in range(cores)]
        return "\n".join(blocks) + f"\nModel\t\t: {self.model} (emulated)\n"


_V80 = "fp asimd evtstrm crc32 cpuid"
_V80_CRYPTO = "fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid"
_V82 = ("fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc "
        "dcpop asimddp")

PRESETS: dict[str, Preset] = {p.board: p for p in (
    Preset("raspberry-pi-5", "emu-pi5", "cortex-a76", 0xD0B, 0x4, 1, _V82,
           "Raspberry Pi 5 Model B Rev 1.0"),
    Preset("raspberry-pi-4", "emu-pi4", "cortex-a72", 0xD08, 0x0, 3, _V80,
           "Raspberry Pi 4 Model B Rev 1.4"),
    Preset("raspberry-pi-3b-plus", "emu-pi3", "cortex-a53", 0xD03, 0x0, 4, _V80,
           "Raspberry Pi 3 Model B Plus Rev 1.3"),
    Preset("raspberry-pi-zero-2-w", "emu-zero2w", "cortex-a53", 0xD03, 0x0, 4, _V80,
           "Raspberry Pi Zero 2 W Rev 1.0"),
    Preset("jetson-nano", "emu-jetson-nano", "cortex-a57", 0xD07, 0x1, 1, _V80_CRYPTO,
           "NVIDIA Jetson Nano Developer Kit"),
    Preset("aws-graviton2", "emu-graviton2", "neoverse-n1", 0xD0C, 0x3, 1, _V82 + " ssbs",
           "AWS Graviton2"),
)}
