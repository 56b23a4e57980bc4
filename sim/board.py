"""A simulated Flute X board: the firmware files in the real MicroPython interpreter (WebAssembly, under Node),
on virtual silicon whose UART is the master side of a real pseudo-terminal.

The host opens the pty's other side as a serial port, exactly as it would open /dev/ttyACM0. The world around the
board (a virtual player) sets sensor inputs with `set_inputs` and watches outputs (servo PWM, clutch) through
`outputs` and `output_log`, and the host's heartbeats through `heartbeat_times_us`, all stamped with the board's own
clock; `true_monotonic_s` says when, on the host's clock, that clock read a given stamp (the truth a test holds the
host's clock model to). `restart` resets the chip while the pty stays open, as a board behind a USB-UART bridge
resets without the host's port going away.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import time
import tty
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flutex.firmware import board_files, wire
from flutex.hardware import PINMAP_PATH
from flutex.host.errors import FlutexError

SIM_DIR = Path(__file__).resolve().parent
NODE_SCRIPT = SIM_DIR / "js" / "board.mjs"
INTERPRETER_PACKAGE = SIM_DIR / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"
# Files a real board has that the simulator replaces (its own chip.py) or does not run (main.py boots a board).
BOARD_ONLY_FILES = ("chip.py", "main.py")
FIRMWARE_ENTRY = "import app\nawait app.main()\n"
READY_TIMEOUT_S = 20.0
RESET_HOLD_S = 0.1  # how long a reset holds the chip off: what it had sent reaches the host meanwhile


@dataclass(frozen=True, slots=True)
class OutputChange:
    """An output the firmware set: a pin level, or a PWM pulse width in nanoseconds."""

    t_us: int
    gpio: int
    value: int


def firmware_files(pinmap_path: Path = PINMAP_PATH) -> dict[str, Path]:
    """The board's filesystem as the simulator lays it out: a real board's files, with the sim's silicon
    (machine.py, chip.py) in place of what the chip provides."""
    files = {f"/{name}": path for name, path in board_files(pinmap_path).items() if name not in BOARD_ONLY_FILES}
    files.update({f"/{p.name}": p for p in sorted((SIM_DIR / "mpy").glob("*.py"))})
    return files


def node_command(files: dict[str, Path], entry: str, uart_fd: int | None, pins: dict[int, int]) -> list[str]:
    """The command that runs `entry` in MicroPython with `files` on its filesystem."""
    node = shutil.which("node")
    if node is None or not INTERPRETER_PACKAGE.is_dir():
        raise FlutexError("the simulator needs Node 20 and its npm packages: run `make setup` (npm ci in sim/)")
    config = {
        "files": {target: str(source) for target, source in files.items()},
        "entry": entry,
        "uart_fd": uart_fd,
        "pins": {str(gpio): value for gpio, value in pins.items()},
    }
    return [node, str(NODE_SCRIPT), json.dumps(config)]


class SimBoard:
    """One running simulated board. Use `async with SimBoard(initial_inputs) as board:`; `board.port` is the
    serial port path for the host."""

    def __init__(self, initial_inputs: dict[int, int], pinmap_path: Path | None = None, log_lines: int = 200) -> None:
        self._inputs = dict(initial_inputs)
        self._files = firmware_files(pinmap_path) if pinmap_path else firmware_files()
        self._process: asyncio.subprocess.Process | None = None
        self._master_fd: int | None = None
        self._slave_fd: int | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._exit_error: str | None = None
        self._listeners: list[Callable[[OutputChange], None]] = []
        self._restart_listeners: list[Callable[[], None]] = []
        self._host_frames = wire.StreamDecoder()
        self.port = ""
        self.outputs: dict[int, int] = {}
        self.output_log: list[OutputChange] = []
        # board times at which a HEARTBEAT or an ARM(1) arrived: what the firmware's watchdog counts from
        self.heartbeat_times_us: deque[int] = deque(maxlen=4096)
        self.restarts = 0
        self._link_trusted = True
        self._boot_monotonic_ns: int | None = None  # host CLOCK_MONOTONIC when this boot's board clock read 0
        self.log: deque[str] = deque(maxlen=log_lines)

    async def __aenter__(self) -> SimBoard:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def on_output(self, listener: Callable[[OutputChange], None]) -> None:
        self._listeners.append(listener)

    async def start(self) -> None:
        self._master_fd, self._slave_fd = os.openpty()
        # Raw, and held open by us for the board's life: a pty whose slave side nobody holds hangs up its master,
        # and the host must be able to close and reopen the port (reconnect) without killing the board.
        tty.setraw(self._slave_fd)
        self.port = os.ttyname(self._slave_fd)
        await self._power_on()

    def on_restart(self, listener: Callable[[], None]) -> None:
        """Call `listener()` at every reset, while the chip is held off."""
        self._restart_listeners.append(listener)

    async def restart(self, held_s: float = RESET_HOLD_S) -> None:
        """Reset the chip: the firmware stops where it is (its outputs drop to their power-on levels), the reset
        line is held for `held_s`, and it boots again, while the serial port stays as it was."""
        await self._power_off(abruptly=True)
        self._host_frames = wire.StreamDecoder()  # what was half-received dies with the chip
        self.heartbeat_times_us.clear()  # stamped by the old chip's clock
        self.restarts += 1
        await asyncio.sleep(held_s)
        for listener in self._restart_listeners:
            listener()
        await self._power_on()  # (its clock starts again at 0: the output log's times start a new epoch)

    async def _power_on(self) -> None:
        assert self._master_fd is not None
        self._ready = asyncio.Event()
        self._exit_error = None
        command = node_command(self._files, FIRMWARE_ENTRY, self._master_fd, self._inputs)
        self._process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            pass_fds=(self._master_fd,),
            limit=1 << 20,
            # its own session: a Ctrl-C at the terminal reaches the host, which stops the board in order
            start_new_session=True,
        )
        self._reader = asyncio.create_task(self._read_events())
        if not self._link_trusted:
            self._control({"link_trusted": False})
        try:
            await asyncio.wait_for(self._ready.wait(), READY_TIMEOUT_S)
        except TimeoutError:
            await self.close()
            raise FlutexError("the simulated board did not start; is Node 20 installed?") from None
        if self._exit_error is not None:
            await self.close()
            raise FlutexError(f"the simulated firmware stopped: {self._exit_error}")

    def set_inputs(self, pins: dict[int, int]) -> None:
        """Set sensor inputs (touch values, ADC counts) by GPIO number."""
        self._inputs.update(pins)
        self._control({"pins": pins})

    def set_link_trusted(self, trusted: bool) -> None:
        """Tell the firmware whether its link's host may move the instrument, as a BLE stack would say whether the
        connection is encrypted and bonded (the simulated UART is otherwise trusted, like USB). It holds across
        resets."""
        self._link_trusted = trusted
        self._control({"link_trusted": trusted})

    def _control(self, message: dict) -> None:
        if self._process is None or self._process.stdin is None or self._process.stdin.is_closing():
            return
        self._process.stdin.write(json.dumps(message).encode() + b"\n")

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    @property
    def exit_error(self) -> str | None:
        return self._exit_error

    def true_monotonic_s(self, board_t_us: int) -> float:
        """The host's `time.monotonic()` at which the current boot's board clock read `board_t_us`: a raw stamp
        (modulo 2**30, as frames carry it) or an unwrapped one; of the instants with that stamp modulo 2**30 (one
        every 17.9 minutes), the one nearest to now. Exact to about a microsecond (docs/simulator.md)."""
        if self._boot_monotonic_ns is None:
            raise FlutexError("the simulated board is not running: its clock has no truth until it boots")
        now_us = (time.monotonic_ns() - self._boot_monotonic_ns) // 1000
        wraps = round((now_us - board_t_us) / wire.TICKS_PERIOD)
        return (self._boot_monotonic_ns + (board_t_us + wraps * wire.TICKS_PERIOD) * 1000) / 1e9

    async def close(self) -> None:
        await self._power_off()
        for fd in (self._master_fd, self._slave_fd):
            if fd is not None:
                os.close(fd)
        self._master_fd = self._slave_fd = None

    async def _power_off(self, abruptly: bool = False) -> None:
        """Stop the chip. Its clock stops only once its last output is read: what it wrote while shutting down (the
        clutch released, the servos parked) happened on this boot's clock, and listeners time it with it."""
        if self._process is not None:
            if abruptly:
                self._process.kill()
            elif self._process.stdin is not None:
                self._process.stdin.close()  # the board stops when its control channel ends
            try:
                await asyncio.wait_for(self._process.wait(), 5.0)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
            self._process = None
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        self._boot_monotonic_ns = None  # the clock stops with the chip

    def _record(self, change: OutputChange) -> None:
        self.outputs[change.gpio] = change.value
        self.output_log.append(change)
        for listener in self._listeners:
            listener(change)

    def _heard(self, t_us: int, data: bytes) -> None:
        """Bytes from the host reached the board's UART at board time `t_us`: note the heartbeats among them."""
        for msg_type, _seq, payload in self._host_frames.feed(data):
            if _is_heartbeat(msg_type, payload):
                self.heartbeat_times_us.append(t_us)

    async def _read_events(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        async for line in self._process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue  # the last line of a board killed mid-write
            kind = event["ev"]
            if kind == "out":
                self._record(OutputChange(event["t_us"], event["pin"], event["v"]))
            elif kind == "rx":
                self._heard(event["t_us"], bytes.fromhex(event["hex"]))
            elif kind == "log":
                self.log.append(event["text"])
            elif kind == "clock":
                self._boot_monotonic_ns = int(event["boot_monotonic_ns"])
            elif kind == "ready":
                self._ready.set()
            elif kind == "exit":
                self._exit_error = event["error"]
                self._ready.set()


def _is_heartbeat(msg_type: int, payload: bytes) -> bool:
    """The frames that feed the firmware's watchdog: HEARTBEAT, and ARM(1) (arming restarts it)."""
    return msg_type == wire.HEARTBEAT or (msg_type == wire.ARM and payload == b"\x01")


def run_micropython(files: dict[str, Path], code: str, timeout_s: float = 60.0) -> list[str]:
    """Run `code` once in the real MicroPython interpreter with `files` on its filesystem; returns what it
    printed, line by line. Raises FlutexError if the code raised."""
    command = node_command(files, code, None, {})
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise FlutexError(f"MicroPython did not finish within {timeout_s:g} s") from None
    printed: list[str] = []
    for line in done.stdout.splitlines():
        event = json.loads(line)
        if event["ev"] == "log":
            printed.append(event["text"])
        elif event["ev"] == "exit" and event["error"]:
            raise FlutexError("MicroPython raised: " + event["error"] + "\n" + "\n".join(printed[-20:]))
    if done.returncode != 0:
        raise FlutexError(f"MicroPython exited with {done.returncode}: {done.stderr.strip()[-500:]}")
    return printed
