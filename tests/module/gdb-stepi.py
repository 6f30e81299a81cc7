# gdb-stepi.py: run inside stock gdb (gdb -x) by gdb-stepi.ps1, already attached to kgdboe.
#
# Stops at a breakpoint, then single-steps (stepi) N times. After every step one line goes to
# the log, flushed at once, so a watcher outside can tell a hung step from a slow one:
#   step <i> <seconds> <pc> <thread> <symbol+off>
# Settings come from the environment: STEPI_LOG, STEPI_STEPS, STEPI_BREAK (address or symbol).
import os
import time

import gdb

log = open(os.environ["STEPI_LOG"], "w", buffering=1)
steps = int(os.environ["STEPI_STEPS"])


def where():
    pc = int(gdb.parse_and_eval("$pc")) & 0xFFFFFFFFFFFFFFFF
    sym = gdb.execute("info symbol 0x%x" % pc, to_string=True).strip()
    # "lock_acquire + 26 in section .text" -> "lock_acquire+26"
    sym = sym.split(" in section")[0].replace(" + ", "+") if "No symbol" not in sym else "?"
    thread = gdb.selected_thread()
    tid = thread.ptid[1] if thread is not None else 0
    return pc, tid, sym


gdb.execute("break %s" % os.environ["STEPI_BREAK"])
t0 = time.monotonic()
gdb.execute("continue", to_string=True)
pc, tid, sym = where()
log.write("stop 0 %.3f 0x%x %d %s\n" % (time.monotonic() - t0, pc, tid, sym))
for i in range(1, steps + 1):
    t0 = time.monotonic()
    gdb.execute("stepi", to_string=True)
    dt = time.monotonic() - t0
    pc, tid, sym = where()
    log.write("step %d %.3f 0x%x %d %s\n" % (i, dt, pc, tid, sym))
gdb.execute("delete")
log.write("done %d\n" % steps)
gdb.execute("detach")
log.write("detached\n")
log.close()
