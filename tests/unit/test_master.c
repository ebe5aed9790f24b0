/*
 * master: the capabilities the master keeps after dropping root
 * (privileges.c). CAP_BPF stays permitted but not effective where a
 * kernel needs it for the steering maps, is raised only around an update,
 * and is forgotten by the workers. Run in a child that drops root with
 * PR_SET_KEEPCAPS, as the master does; skipped when not run as root.
 * And the counts of a worker that exits, which the master keeps
 * (shm_metrics_retire()).
 */
#include "config.h"

#include <criterion/criterion.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "turnpike/shm.h"
#include "../../src/master/master_private.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static void caps(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct header = {
	    .version = _LINUX_CAPABILITY_VERSION_3};

	if (syscall(SYS_capget, &header, data) != 0)
		_exit(10);
}

static bool has(uint32_t set_word, int cap)
{
	return (set_word & (1u << (cap % 32))) != 0;
}

/* The child's checks; its exit status says which failed (0: none). */
static int child(void)
{
	struct __user_cap_header_struct header = {
	    .version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {{0}};

	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 ||
	    setresgid(65534, 65534, 65534) != 0 ||
	    setresuid(65534, 65534, 65534) != 0)
		return 1;
	data[0].permitted = data[0].effective = 1u << CAP_NET_BIND_SERVICE;
	data[1].permitted = 1u << (CAP_BPF % 32);
	if (syscall(SYS_capset, &header, data) != 0)
		return 2;
	if (master_bpf_capability(true) != 0)
		return 3;
	caps(data);
	if (!has(data[1].effective, CAP_BPF))
		return 4;
	if (master_bpf_capability(false) != 0)
		return 5;
	caps(data);
	if (has(data[1].effective, CAP_BPF) || !has(data[1].permitted, CAP_BPF))
		return 6;
	if (master_forget_bpf_capability() != 0)
		return 7;
	caps(data);
	if (has(data[1].permitted, CAP_BPF) ||
	    !has(data[0].effective, CAP_NET_BIND_SERVICE))
		return 8;
	/* Gone for good: raising is now a no-op, and it stays gone. */
	if (master_bpf_capability(true) != 0)
		return 9;
	caps(data);
	return has(data[1].effective, CAP_BPF) ? 10 : 0;
}

Test(master_caps, bpf_is_raised_only_when_asked_and_forgotten_for_good)
{
	int status;
	pid_t pid;

	if (geteuid() != 0)
		cr_skip_test("needs root to drop it");
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(child());
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 0, "check %d failed",
	             WEXITSTATUS(status));
}

/* Two workers exit, one with allocations and connections still live: the
 * counts add up, the gauges do not, and its live allocations count as
 * deleted. */
Test(master_counters, retired_workers_keep_counts_not_gauges)
{
	struct metrics_worker retired = {0}, one = {0};

	one.client_packets = 1000;
	one.allocations_created = 7;
	one.allocations_deleted = 4;
	one.allocations_live = 3;
	one.streams_live = 2;
	one.rate[1].dropped = 5;
	shm_metrics_retire(&retired, &one);
	shm_metrics_retire(&retired, &one);
	cr_assert_eq(retired.client_packets, 2000);
	cr_assert_eq(retired.allocations_created, 14);
	cr_assert_eq(retired.allocations_deleted, 14);
	cr_assert_eq(retired.allocations_live, 0);
	cr_assert_eq(retired.streams_live, 0);
	cr_assert_eq(retired.rate[1].dropped, 10);
}
