// SPDX-License-Identifier: GPL-2.0
/*
 * workload: calls getppid() in a loop so tests have a kernel function
 * (__x64_sys_getppid) that runs exactly when they want it to.
 *
 *   workload [count] [delay_us]      count 0 = forever
 *
 * Uses syscall() directly: libc may cache or inline the cheap ones.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	long count = argc > 1 ? atol(argv[1]) : 1;
	long delay_us = argc > 2 ? atol(argv[2]) : 0;
	long done;

	for (done = 0; count == 0 || done < count; done++) {
		syscall(SYS_getppid);
		if (delay_us)
			usleep(delay_us);
	}
	printf("%ld\n", done);
	return 0;
}
