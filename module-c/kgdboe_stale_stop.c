// SPDX-License-Identifier: GPL-2.0
/*
 * Stops that outlive their debugger.
 *
 * Owns: each CPU's last kernel-mode breakpoint trap (trap_cmd, trap_regs,
 * trap_at; written by that CPU in its die notifier, read and cleared by it
 * in pre_exception), when the debugger last left (left_at; debugger CPU)
 * and the resume of a stale stop (stale_script, stale; debugger CPU, from
 * pre_exception to post_exception).
 *
 * A CPU that hits a breakpoint while another CPU holds the debugger waits
 * in kgdb_cpu_enter() and takes the debugger when it is free. If gdb
 * detached meanwhile, the breakpoint is gone ('D' clears them all:
 * dbg_remove_all_break() in kernel/debug/debug_core.c), but the waiting CPU
 * still enters kgdb and, with no debugger attached, waits for one ("KGDB:
 * waiting... or $3#33 for KDB"): the kernel stays stopped. Seen after gdb's
 * `finish` out of ksys_write with a writer on each of 4 CPUs: three CPUs
 * had hit the finish breakpoint while the fourth held the debugger, gdb
 * detached, the guest stayed stopped. kgdb_skipexception() covers only an
 * int3 of a breakpoint removed while gdb stays (BP_REMOVED; 'D' leaves
 * BP_UNDEFINED) and no debug register at all.
 *
 * So a stop made by a breakpoint trap taken before the debugger left, that
 * finds none attached, goes on at once: after an int3 other than
 * kgdb_breakpoint()'s own, at the int3's address (it held a breakpoint,
 * now gone); after a debug exception, where it stands. The stub is told so
 * itself ("Hc0" first: kgdb refuses "c" for a thread other than the "Hc"
 * one gdb left), then counts as never attached, as before the stop.
 * Anything else (an oops, sysrq-g, a break-in, a trap after the debugger
 * left) waits for a debugger as it always did.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kdebug.h>
#include <linux/kgdb.h>
#include <linux/notifier.h>
#include <linux/percpu.h>
#include <linux/sched/task_stack.h>
#include <linux/timekeeping.h>
#include <asm/stacktrace.h>
#include <asm/unwind.h>

#include "kgdboe.h"

/* kgdb_breakpoint() is a few bytes around its one int3. */
#define KGDB_BREAKPOINT_SPAN	32

static DEFINE_PER_CPU(unsigned long, trap_cmd);
static DEFINE_PER_CPU(struct pt_regs *, trap_regs);
static DEFINE_PER_CPU(u64, trap_at);

static u64 left_at;
static bool stale;
static unsigned int stale_resumed;

/* "$Hc0#db" "+" "$c" + 16 hex digits + "#" + 2 hex digits. */
static char stale_script[40];

/* Before kgdb's die notifier (priority 0): which trap this is, and when. */
static int stale_die_notify(struct notifier_block *nb, unsigned long cmd,
			    void *data)
{
	struct die_args *args = data;

	if ((cmd == DIE_INT3 || cmd == DIE_DEBUG) && !user_mode(args->regs)) {
		__this_cpu_write(trap_cmd, cmd);
		__this_cpu_write(trap_regs, args->regs);
		__this_cpu_write(trap_at, ktime_get_mono_fast_ns());
		/* Another CPU's stop or step first (kgdboe_park.c). */
		kgdboe_park_trap(args->regs, cmd == DIE_DEBUG);
	}
	return NOTIFY_DONE;
}

static struct notifier_block stale_die_nb = {
	.notifier_call = stale_die_notify,
	.priority = INT_MAX - 1,
};

/* The registers of the trap that entered kgdb: the first full pt_regs. */
static struct pt_regs *entry_regs(void)
{
	struct unwind_state state;
	struct pt_regs *regs;
	bool partial;

	/* Without a first frame unwind_start() skips to the end of the stack. */
	for (unwind_start(&state, current, NULL, get_stack_pointer(current, NULL));
	     !unwind_done(&state); unwind_next_frame(&state)) {
		regs = unwind_get_entry_regs(&state, &partial);
		if (regs)
			return partial ? NULL : regs;
	}
	return NULL;
}

static unsigned int build_script(unsigned long resume_at)
{
	unsigned int n, i, start;
	u8 sum = 0;

	n = scnprintf(stale_script, sizeof(stale_script), "$Hc0#db+$");
	start = n;
	n += scnprintf(stale_script + n, sizeof(stale_script) - n, "c");
	if (resume_at)
		n += scnprintf(stale_script + n, sizeof(stale_script) - n,
			       "%lx", resume_at);
	for (i = start; i < n; i++)
		sum += stale_script[i];
	n += scnprintf(stale_script + n, sizeof(stale_script) - n, "#%02x",
		       sum);
	return n;
}

/*
 * pre_exception, after kgdboe_net_enter(). True if this stop is stale and
 * the stub was given its way on.
 */
bool kgdboe_stale_stop_enter(void)
{
	unsigned long cmd = __this_cpu_read(trap_cmd);
	struct pt_regs *regs = __this_cpu_read(trap_regs);
	unsigned long own = (unsigned long)kgdb_breakpoint;
	unsigned long resume_at = 0;

	__this_cpu_write(trap_cmd, 0);
	__this_cpu_write(trap_regs, NULL);
	if (kgdb_connected || !cmd || !regs ||
	    __this_cpu_read(trap_at) >= READ_ONCE(left_at) ||
	    entry_regs() != regs)
		return false;
	if (cmd == DIE_INT3) {
		if (regs->ip - 1 >= own &&
		    regs->ip - 1 < own + KGDB_BREAKPOINT_SPAN)
			return false;
		resume_at = regs->ip - 1;
	}
	kgdboe_net_script(stale_script, build_script(resume_at));
	stale = true;
	stale_resumed++;
	return true;
}

/* post_exception: a stale stop leaves kgdb as unattached as it found it. */
void kgdboe_stale_stop_leave(bool was_connected)
{
	if (stale) {
		stale = false;
		WRITE_ONCE(kgdb_connected, 0);
	} else if (was_connected && !kgdb_connected) {
		left_at = ktime_get_mono_fast_ns();
	}
}

int kgdboe_stale_stop_init(void)
{
	return register_die_notifier(&stale_die_nb);
}

void kgdboe_stale_stop_exit(void)
{
	unregister_die_notifier(&stale_die_nb);
	if (stale_resumed)
		pr_info("%u stop(s) resumed after their debugger left\n",
			stale_resumed);
}
