// Virtual silicon for the Flute X firmware: runs firmware files in the real MicroPython interpreter
// (WebAssembly port) and gives it a clock, pins and a UART.
//
//   node board.mjs CONFIG_JSON
//
// CONFIG_JSON: {"files": {"/name.py": "/host/path", ...}, "entry": "python code", "uart_fd": N | null,
//               "pins": {"GPIO": value, ...} (sensor inputs from power-on)}
// The UART is the master side of a pseudo-terminal opened by the Python side (fd `uart_fd`).
// Control channel: stdin takes JSON lines {"pins": {"GPIO": value, ...}} (sensor inputs) and
// {"link_trusted": bool} (whether the link's host may move the instrument, for the BLE bench);
// stdout gives JSON lines: {"ev": "out", "pin", "v", "t_us"} when the firmware changes an output,
// {"ev": "rx", "hex", "t_us"} when UART bytes arrive, {"ev": "log", "text"} for the firmware's prints,
// {"ev": "clock", "boot_monotonic_ns"} (the clock truth, below) then {"ev": "ready"} once the firmware runs,
// {"ev": "exit", "error"} when it stops.
import fs from "node:fs";
import readline from "node:readline";
import tty from "node:tty";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";

const TICKS_PERIOD = 2 ** 30;
const config = JSON.parse(process.argv[2]);
const bootMs = performance.now();
const emit = (event) => process.stdout.write(JSON.stringify(event) + "\n");
// The controller went away (killed, or interrupted while starting us): nobody is left to tell, so stop quietly.
process.stdout.on("error", () => process.exit(0));
// Leave only once everything emitted has reached the pipe.
const exit = (code) => process.stdout.write("", () => process.exit(code));
// MicroPython's ticks_us has 1 ms resolution in this port: the board clock comes from performance.now().
const ticksUs = () => Math.floor((performance.now() - bootMs) * 1000) % TICKS_PERIOD;

// The truth about that clock, which only the simulator knows: the CLOCK_MONOTONIC time (process.hrtime, the clock
// of Python's time.monotonic on Linux) at which ticksUs read 0. performance.now() counts on the same clock from
// its own origin, so one reading of each at the same instant ties them; of a few readings bracketed by hrtime,
// the tightest bracket wins (a pause between two calls, a GC or a JIT, would shift the pair).
const TRUTH_READINGS = 32;
function bootMonotonicNs() {
  let best = null;
  for (let i = 0; i < TRUTH_READINGS; i++) {
    const before = process.hrtime.bigint();
    const sinceBootNs = BigInt(Math.round((performance.now() - bootMs) * 1e6));
    const after = process.hrtime.bigint();
    if (best === null || after - before < best.width) {
      best = { width: after - before, bootNs: (before + after) / 2n - sinceBootNs };
    }
  }
  return best.bootNs;
}

const inputs = new Map(Object.entries(config.pins ?? {}).map(([pin, value]) => [Number(pin), value]));
const outputs = new Map();
const rxChunks = [];
let rxWaiter = null;
let wdtTimer = null;
let wdtTimeoutMs = 0;

function deliverRx() {
  if (rxWaiter && rxChunks.length) {
    const resolve = rxWaiter;
    rxWaiter = null;
    resolve(Buffer.concat(rxChunks.splice(0)).toString("hex"));
  }
}

if (config.uart_fd !== null) {
  const uart = new tty.ReadStream(config.uart_fd);
  uart.on("data", (chunk) => {
    emit({ ev: "rx", hex: chunk.toString("hex"), t_us: ticksUs() });
    rxChunks.push(chunk);
    deliverRx();
  });
  uart.on("error", (error) => emit({ ev: "log", text: `uart: ${error.code}` }));
}

// Whether the host at the other end of the link may move the instrument: a USB host may; the BLE test bench says
// whether its connection is encrypted and bonded ({"link_trusted": false|true} on the control channel).
let linkTrusted = true;

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const message = JSON.parse(line);
  for (const [pin, value] of Object.entries(message.pins ?? {})) inputs.set(Number(pin), value);
  if (message.link_trusted !== undefined) linkTrusted = message.link_trusted;
});
// A board stops when its controller goes away; a one-off script (no UART) runs to its end.
if (config.uart_fd !== null) process.stdin.on("end", () => exit(0));

const bootId = crypto.getRandomValues(new Uint32Array(1))[0];

const simhw = {
  ticks_us: ticksUs,
  boot_id: () => bootId,
  pin_read: (pin) => inputs.get(pin) ?? 0,
  link_trusted: () => linkTrusted,
  pin_write: (pin, value) => {
    if (outputs.get(pin) !== value) {
      outputs.set(pin, value);
      emit({ ev: "out", pin, v: value, t_us: ticksUs() });
    }
  },
  // A real UART drops bytes nobody takes; so does this one, instead of stalling the firmware.
  uart_write: (hex) => {
    const bytes = Buffer.from(hex, "hex");
    try {
      return fs.writeSync(config.uart_fd, bytes) === bytes.length;
    } catch (error) {
      if (error.code !== "EAGAIN") throw error;
      return false;
    }
  },
  uart_read: () =>
    new Promise((resolve) => {
      rxWaiter = resolve;
      deliverRx();
    }),
  // The chip's watchdog: if the firmware stops feeding it, the board resets: every output drops to 0.
  wdt_start: (timeoutMs) => {
    wdtTimeoutMs = timeoutMs;
    simhw.wdt_feed();
  },
  wdt_feed: () => {
    if (!wdtTimeoutMs) return;
    clearTimeout(wdtTimer);
    wdtTimer = setTimeout(() => {
      for (const pin of outputs.keys()) simhw.pin_write(pin, 0);
      emit({ ev: "exit", error: "hardware watchdog reset: the firmware stopped feeding it" });
      exit(3);
    }, wdtTimeoutMs);
  },
};

const mp = await loadMicroPython({
  heapsize: 2 * 1024 * 1024,
  stdout: (text) => emit({ ev: "log", text }),
  stderr: (text) => emit({ ev: "log", text }),
});
mp.registerJsModule("simhw", simhw);
for (const [target, source] of Object.entries(config.files)) mp.FS.writeFile(target, fs.readFileSync(source));
emit({ ev: "clock", boot_monotonic_ns: String(bootMonotonicNs()) });
emit({ ev: "ready" });
try {
  await mp.runPythonAsync(config.entry);
  emit({ ev: "exit", error: null });
  exit(0);
} catch (error) {
  emit({ ev: "exit", error: String(error.message ?? error) });
  exit(1);
}
