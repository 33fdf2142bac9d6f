"""The boards a firmware project can be built for: core, memory, clocks, UARTs, emulators.

One entry per folder of ``firmware/boards/`` (besides ``cortex_m``, the shared start-up and
counter). ``afkd export --board NAME [--clock-hz HZ] [--uart NAME]`` picks one; the values
reach the C as ``AFKD_CLOCK_HZ`` and ``AFKD_UART_<NAME>`` (see each board file). The CPU load
that ``afkd validate`` quotes is at the clock the firmware reports, the one chosen here.

Clocks: each STM32 board runs either from its PLL at ``clock_hz`` (the default, set up from the
internal 16 MHz HSI, so no crystal is assumed) or on the oscillator it resets on
(``reset_clock_hz``); those are the two values ``--clock-hz`` accepts. Under an emulator the
board skips the clock set-up (the RCC reads 0 there) and reports the chosen clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from afkd.errors import AfkdError


@dataclass(frozen=True)
class Board:
    name: str
    chip: str                    # what it is, for people
    core: str                    # toolchain file: arm-none-eabi-<core>.cmake ("" for the host)
    clock_hz: int                # default core clock (PLL)
    reset_clock_hz: int          # the clock out of reset, the other --clock-hz choice
    uarts: tuple[str, ...]       # --uart choices, the default first
    flash_bytes: int
    ram_bytes: int
    dsp: bool                    # SIMD/DSP instructions (the M4 kernels' assembly)
    qemu_machine: str | None = None   # the QEMU machine that runs this ELF unchanged
    renode: bool = False         # an afkd Renode platform exists (firmware/renode/afkd_<repl>.repl)
    note: str = ""               # the UART's pins, the board it is wired to
    openocd_target: str = ""     # OpenOCD's target/<name>.cfg ("": no probe flashes it)
    pyocd_target: str = ""       # pyOCD's target name (from the device's CMSIS pack)

    @property
    def toolchain(self) -> str:
        return f"arm-none-eabi-{self.core}.cmake" if self.core else ""


_MB, _KB = 1 << 20, 1 << 10
BOARDS: dict[str, Board] = {b.name: b for b in (
    Board("stm32f4", "STM32F405/407 (Cortex-M4F)", "cortex-m4", 168_000_000, 16_000_000, ("usart1", "usart2"),
          1 * _MB, 128 * _KB, True, "netduinoplus2", True,
          "USART1 PA9/PA10 (AF7); USART2 PA2/PA3 (Nucleo-F401/F411 ST-LINK VCP). PLL from an 8 MHz HSE",
          openocd_target="stm32f4x", pyocd_target="stm32f407vgtx"),
    Board("stm32l476", "STM32L476 (Cortex-M4F)", "cortex-m4", 80_000_000, 4_000_000, ("usart2", "usart1"),
          1 * _MB, 96 * _KB, True, None, False,
          "USART2 PA2/PA3 = Nucleo-L476RG ST-LINK VCP; USART1 PA9/PA10",
          openocd_target="stm32l4x", pyocd_target="stm32l476rgtx"),
    Board("stm32f746", "STM32F746 (Cortex-M7)", "cortex-m7", 216_000_000, 16_000_000, ("usart3", "usart1"),
          1 * _MB, 320 * _KB, True, None, True,
          "USART3 PD8/PD9 = Nucleo-F746ZG ST-LINK VCP; USART1 PA9/PB7 = STM32F746G-DISCO VCP",
          openocd_target="stm32f7x", pyocd_target="stm32f746zgtx"),
    Board("stm32h743", "STM32H743 (Cortex-M7)", "cortex-m7", 400_000_000, 64_000_000, ("usart3", "usart1"),
          2 * _MB, 128 * _KB, True, None, True,
          "USART3 PD8/PD9 = Nucleo-H743ZI ST-LINK VCP; USART1 PA9/PA10. RAM: the 128 KB DTCM",
          openocd_target="stm32h7x", pyocd_target="stm32h743zitx"),
    Board("stm32u585", "STM32U585 (Cortex-M33)", "cortex-m33", 160_000_000, 4_000_000, ("usart1",),
          2 * _MB, 768 * _KB, True, None, False,
          "USART1 PA9/PA10 = B-U585I-IOT02A ST-LINK VCP",
          openocd_target="stm32u5x", pyocd_target="stm32u585aiix"),
    Board("stm32l552", "STM32L552 (Cortex-M33, TrustZone off)", "cortex-m33", 110_000_000, 4_000_000,
          ("lpuart1", "usart2"), 512 * _KB, 256 * _KB, True, None, True,
          "LPUART1 PG7/PG8 = Nucleo-L552ZE-Q ST-LINK VCP; USART2 PA2/PA3",
          openocd_target="stm32l5x", pyocd_target="stm32l552zetxq"),
    Board("stm32g071", "STM32G071 (Cortex-M0+)", "cortex-m0plus", 64_000_000, 16_000_000, ("usart2",),
          128 * _KB, 36 * _KB, False, None, True,
          "USART2 PA2/PA3 = Nucleo-G071RB ST-LINK VCP",
          openocd_target="stm32g0x", pyocd_target="stm32g071rbtx"),
    Board("stm32l072", "STM32L072 (Cortex-M0+)", "cortex-m0plus", 32_000_000, 2_097_000, ("usart2", "usart1"),
          192 * _KB, 20 * _KB, False, None, True,
          "USART2 PA2/PA3 = Nucleo-L073RZ and B-L072Z-LRWAN1 ST-LINK VCP; USART1 PA9/PA10",
          openocd_target="stm32l0", pyocd_target="stm32l072czyx"),
    Board("mps2_an386", "ARM MPS2 AN386 (Cortex-M4F, QEMU mps2-an386)", "cortex-m4", 25_000_000, 25_000_000,
          ("uart0",), 4 * _MB, 4 * _MB, True, "mps2-an386", False, "CMSDK UART0"),
    Board("mps2_an500", "ARM MPS2 AN500 (Cortex-M7, QEMU mps2-an500)", "cortex-m7", 25_000_000, 25_000_000,
          ("uart0",), 4 * _MB, 4 * _MB, True, "mps2-an500", False, "CMSDK UART0"),
    Board("mps2_an505", "ARM MPS2 AN505 (Cortex-M33, QEMU mps2-an505)", "cortex-m33", 20_000_000, 20_000_000,
          ("uart0",), 4 * _MB, 4 * _MB, True, "mps2-an505", False, "CMSDK UART0, secure state"),
    Board("host", "x86-64 host (stdin/stdout)", "", 0, 0, ("stdio",), 0, 0, False),
)}

# What each --target builds unless --board says otherwise.
TARGET_BOARDS = {"stm32": "stm32f4", "renode": "stm32f4", "qemu": "mps2_an386", "host": "host"}


def board_for(target: str, board: str | None) -> Board:
    """The board of an export: ``board`` when given (checked against the target), else the target's."""
    if target not in TARGET_BOARDS:
        raise AfkdError(f"--target {target!r}: choose one of {', '.join(TARGET_BOARDS)}")
    name = board or TARGET_BOARDS[target]
    if name not in BOARDS:
        raise AfkdError(f"--board {name}: unknown (choose from {', '.join(BOARDS)})")
    chosen = BOARDS[name]
    if target == "host" and name != "host" or target != "host" and name == "host":
        raise AfkdError(f"--board {name}: not a board for --target {target}")
    if target == "renode" and not chosen.renode:
        raise AfkdError(f"--board {name}: Renode has no afkd platform for it "
                        f"(Renode boards: {', '.join(b.name for b in BOARDS.values() if b.renode)})")
    if target == "qemu" and chosen.qemu_machine is None:
        raise AfkdError(f"--board {name}: QEMU does not model it "
                        f"(QEMU boards: {', '.join(b.name for b in BOARDS.values() if b.qemu_machine)})")
    return chosen


def clock_for(board: Board, clock_hz: int | None) -> int:
    if clock_hz is None:
        return board.clock_hz
    allowed = sorted({board.clock_hz, board.reset_clock_hz})
    if clock_hz not in allowed:
        raise AfkdError(f"--clock-hz {clock_hz}: board {board.name} runs at "
                        f"{' or '.join(str(a) for a in allowed)} Hz (PLL or the reset oscillator)")
    return clock_hz


def uart_for(board: Board, uart: str | None) -> str:
    if uart is None:
        return board.uarts[0]
    if uart not in board.uarts:
        raise AfkdError(f"--uart {uart}: board {board.name} talks on {', '.join(board.uarts)}")
    return uart
