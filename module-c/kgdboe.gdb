# kgdboe.gdb: gdb settings for a kernel debugged through kgdboe (or any KGDB stub).
#
#   file vmlinux
#   target remote udp:IP:PORT        (or the port of Start-KernelGdbBridge)
#   source kgdboe.gdb                (after connecting: with KASLR the bridge's qOffsets
#                                     relocates the symbols used below)
#
# KGDB refuses a software breakpoint (Z0) in code that must not be instrumented: for any
# address within_kprobe_blacklist() names (.noinstr.text, .entry.text),
# kgdb_validate_break_address() in kernel/debug/debug_core.c answers E22. A system call
# returns there (do_syscall_64), so gdb's `finish` out of ksys_write, and `until` or
# `advance` to such places, stop with "Cannot insert breakpoint ... Cannot access memory".
# gdb places a breakpoint in read-only memory with a debug register (Z1) when
# `breakpoint auto-hw` is on (the default), so these sections are declared read-only.
# A debug register needs a kernel that reports its hits: stock 6.1 and 6.12 do not (see
# README, "The lab"); there Set-KernelBreakpoint -Kind Hardware says so.
#
# gdb refuses other memory once one region is declared, unless told otherwise.
set mem inaccessible-by-default off
mem &__noinstr_text_start &__noinstr_text_end ro
mem &__entry_text_start &__entry_text_end ro
