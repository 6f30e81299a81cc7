# gdb-next.py: run inside stock gdb (gdb -x), already attached to kgdboe with vmlinux symbols.
#
# `next` NEXT_COUNT times (default 30) inside NEXT_FUNCTION (default ksys_write), then `finish`
# once from inside it, then detach. ksys_write has fewer lines than 30: when a `next` leaves
# it, a temporary breakpoint on it and `continue` bring the next call (in whichever writer
# comes first) and the count goes on. One line per command goes to NEXT_LOG, flushed at once:
#   <command> <i> <seconds> <pc> <thread before> <thread after> <symbol+off>
# Only temporary breakpoints are used: a breakpoint left in place would stop `next` in any
# writer that reaches it first, as gdb is meant to. gdb's own step-resume and finish
# breakpoints are still met by the other writers; gdb must step those over itself and stop
# only in the thread it steps.
import os
import time

import gdb

log = open(os.environ["NEXT_LOG"], "w", buffering=1)
count = int(os.environ.get("NEXT_COUNT", "30"))
function = os.environ.get("NEXT_FUNCTION", "ksys_write")


def thread_id():
    thread = gdb.selected_thread()
    return thread.ptid[1] if thread is not None else 0


def where():
    pc = int(gdb.parse_and_eval("$pc")) & 0xFFFFFFFFFFFFFFFF
    sym = gdb.execute("info symbol 0x%x" % pc, to_string=True).strip()
    sym = sym.split(" in section")[0].replace(" + ", "+") if "No symbol" not in sym else "?"
    return pc, sym


def in_function():
    frame = gdb.selected_frame()
    return frame is not None and frame.name() == function


def run(command, i):
    before = thread_id()
    t0 = time.monotonic()
    gdb.execute(command, to_string=True)
    dt = time.monotonic() - t0
    pc, sym = where()
    log.write("%s %d %.3f 0x%x %d %d %s\n" % (command.split()[0], i, dt, pc, before, thread_id(), sym))


def enter():
    gdb.execute("tbreak %s" % function, to_string=True)
    run("continue", 0)


enter()
done = 0
while done < count:
    if not in_function():
        enter()
        continue
    done += 1
    run("next", done)
if not in_function():
    enter()
try:
    run("finish", done + 1)
except gdb.error as e:
    log.write("finish-error %s\n" % str(e).replace("\n", " "))
    raise
log.write("done %d\n" % done)
gdb.execute("detach")
log.write("detached\n")
log.close()
