// SPDX-License-Identifier: GPL-2.0
/*
 * testmod: a module for KgdbOe's breakpoint tests. Its init calls testmod_hello() once, so a
 * breakpoint set on testmod_hello before insmod (pending: the module is not loaded yet) is hit
 * while the module loads; testmod_hello is not inlined and takes a module parameter, so the
 * compiler keeps it as a function of its own under its own name.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>

/* The value testmod_hello() is called with; a parameter, so no constant is propagated into it. */
static int value = 21;
module_param(value, int, 0444);
MODULE_PARM_DESC(value, "what init passes to testmod_hello()");

/* How often testmod_hello() ran (only init calls it: no lock needed). */
static int testmod_calls;

static noinline int testmod_hello(int v)
{
	testmod_calls++;
	return v * 2;
}

static int __init testmod_init(void)
{
	pr_info("hello %d (%d calls)\n", testmod_hello(value), testmod_calls);
	return 0;
}

static void __exit testmod_exit(void)
{
	pr_info("bye\n");
}

module_init(testmod_init);
module_exit(testmod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KgdbOe test module: a function to break on while it loads");
