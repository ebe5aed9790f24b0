/*
 * The server's CPU time: the run time in nanoseconds of each of its
 * threads, from /proc/PID/task/TID/schedstat (first field), or where the
 * kernel has no schedstat, utime + stime from /proc/PID/stat, the sums
 * over all threads in clock ticks (10 ms: at 20,000 pps a 2 s run costs
 * a server 12-18 ticks, so one tick is 6-8 % of the figure).
 * A prefork server is found as a pid and its descendants (a master and
 * its workers), or as every process of a comm name.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

static bool pid_known(const struct procstat *ps, pid_t pid)
{
	size_t i;

	for (i = 0; i < ps->count; i++)
		if (ps->pids[i] == pid)
			return true;
	return false;
}

static int add_pid(struct procstat *ps, pid_t pid, char *error,
                   size_t error_size)
{
	if (pid_known(ps, pid))
		return 0;
	if (ps->count == BENCH_MAX_PIDS) {
		snprintf(error, error_size, "more than %d server processes",
		         BENCH_MAX_PIDS);
		return E2BIG;
	}
	ps->pids[ps->count++] = pid;
	return 0;
}

/* The comm of a process, without its newline; false when it is gone. */
static bool read_comm(pid_t pid, char *comm, size_t size)
{
	char path[64];
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return false;
	ok = fgets(comm, (int)size, f) != NULL;
	fclose(f);
	if (ok)
		comm[strcspn(comm, "\n")] = '\0';
	return ok;
}

static int add_name(struct procstat *ps, const char *name, char *error,
                    size_t error_size)
{
	char comm[64];
	struct dirent *d;
	size_t before = ps->count;
	int err = 0;
	DIR *dir;

	dir = opendir("/proc");
	if (dir == NULL) {
		snprintf(error, error_size, "/proc: %s", strerror(errno));
		return errno;
	}
	/* readdir(/proc) lists processes, not their threads. */
	while (err == 0 && (d = readdir(dir)) != NULL) {
		pid_t pid;

		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		pid = (pid_t)strtol(d->d_name, NULL, 10);
		if (read_comm(pid, comm, sizeof(comm)) &&
		    strcmp(comm, name) == 0)
			err = add_pid(ps, pid, error, error_size);
	}
	closedir(dir);
	if (err == 0 && ps->count == before) {
		snprintf(error, error_size, "no process named '%s'", name);
		err = ESRCH;
	}
	return err;
}

/* The parent of a process, from the field after the comm; 0 when gone. */
static pid_t read_ppid(pid_t pid)
{
	char path[64], buf[1024], *p;
	size_t n;
	FILE *f;
	int ppid;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return 0;
	return (pid_t)ppid;
}

/* Adds the children of the processes found so far, and theirs: one pass
 * over /proc per generation, a few generations at most. */
static int add_descendants(struct procstat *ps, char *error, size_t error_size)
{
	size_t known, generation;
	struct dirent *d;
	int err = 0;
	DIR *dir;

	for (generation = 0; generation < 4 && err == 0; generation++) {
		known = ps->count;
		dir = opendir("/proc");
		if (dir == NULL)
			return 0;
		while (err == 0 && (d = readdir(dir)) != NULL) {
			pid_t pid;

			if (!isdigit((unsigned char)d->d_name[0]))
				continue;
			pid = (pid_t)strtol(d->d_name, NULL, 10);
			if (!pid_known(ps, pid) &&
			    pid_known(ps, read_ppid(pid)))
				err = add_pid(ps, pid, error, error_size);
		}
		closedir(dir);
		if (ps->count == known)
			break;
	}
	return err;
}

int procstat_find(struct procstat *ps, const struct bench_options *options,
                  char *error, size_t error_size)
{
	char comm[64];
	size_t i;
	int err;

	memset(ps, 0, sizeof(*ps));
	for (i = 0; i < options->pid_count; i++) {
		if (!read_comm(options->pids[i], comm, sizeof(comm))) {
			snprintf(error, error_size, "no process %d",
			         (int)options->pids[i]);
			return ESRCH;
		}
		err = add_pid(ps, options->pids[i], error, error_size);
		if (err != 0)
			return err;
	}
	if (ps->count > 0) {
		err = add_descendants(ps, error, error_size);
		if (err != 0)
			return err;
	}
	for (i = 0; i < options->name_count; i++) {
		err = add_name(ps, options->names[i], error, error_size);
		if (err != 0)
			return err;
	}
	return 0;
}

/* utime + stime of one process in ticks; false when it is gone. The comm
 * may hold spaces and parentheses: fields are counted from the last ')'. */
static bool read_ticks(pid_t pid, unsigned long long *ticks)
{
	unsigned long long utime, stime;
	char path[64], buf[1024], *p;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* After ')': state ppid pgrp session tty_nr tpgid flags minflt
	 * cminflt majflt cmajflt utime stime. */
	if (p == NULL ||
	    sscanf(p + 1,
	           " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	           &utime, &stime) != 2)
		return false;
	*ticks = utime + stime;
	return true;
}

/* The run time of every live thread of a process, in ns, and how many
 * times they were scheduled in (schedstat's third field: a wakeup or the
 * end of a preemption); false when the process is gone. */
static bool read_runtime(pid_t pid, unsigned long long *ns,
                         unsigned long long *runs)
{
	char path[96];
	struct dirent *entry;
	bool any = false;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (dir == NULL)
		return false;
	*ns = 0;
	*runs = 0;
	while ((entry = readdir(dir)) != NULL) {
		unsigned long long runtime, waited, slices;
		FILE *f;

		if (!isdigit((unsigned char)entry->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/schedstat",
		         (int)pid, entry->d_name);
		f = fopen(path, "re");
		if (f == NULL)
			continue; /* a thread that just ended */
		if (fscanf(f, "%llu %llu %llu", &runtime, &waited, &slices) ==
		    3) {
			*ns += runtime;
			*runs += slices;
			any = true;
		}
		fclose(f);
	}
	closedir(dir);
	return any;
}

/* Kernels without CONFIG_SCHED_INFO have no schedstat files. */
static bool have_schedstat(void)
{
	return access("/proc/self/schedstat", R_OK) == 0;
}

void procstat_cpu(const struct procstat *ps, struct procstat_sample *out)
{
	bool precise = have_schedstat();
	unsigned long long total = 0, runs = 0, value, value_runs = 0;
	long hz = sysconf(_SC_CLK_TCK);
	size_t i;

	out->gone = 0;
	for (i = 0; i < ps->count; i++) {
		if (precise ? read_runtime(ps->pids[i], &value, &value_runs)
		            : read_ticks(ps->pids[i], &value)) {
			total += value;
			runs += value_runs;
		} else
			out->gone++;
	}
	out->have_runs = precise;
	out->runs = runs;
	if (precise)
		out->cpu_s = (double)total / 1e9;
	else
		out->cpu_s = (double)total / (double)(hz > 0 ? hz : 100);
}

/* VmRSS of /proc/PID/status in KiB; false when the process is gone. */
static bool read_rss(pid_t pid, uint64_t *kib)
{
	char path[64], line[256];
	unsigned long long value;
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = sscanf(line, "VmRSS: %llu kB", &value) == 1;
	fclose(f);
	if (found)
		*kib = value;
	return found;
}

static uint64_t count_fds(pid_t pid)
{
	char path[64];
	struct dirent *d;
	uint64_t count = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (dir == NULL)
		return 0;
	while ((d = readdir(dir)) != NULL)
		if (d->d_name[0] != '.')
			count++;
	closedir(dir);
	return count;
}

void procstat_memory(const struct procstat *ps, uint64_t *rss_kib,
                     uint64_t *fds)
{
	uint64_t kib;
	size_t i;

	*rss_kib = 0;
	*fds = 0;
	for (i = 0; i < ps->count; i++) {
		if (read_rss(ps->pids[i], &kib))
			*rss_kib += kib;
		*fds += count_fds(ps->pids[i]);
	}
}

int procstat_machine(struct procstat_machine *m)
{
	unsigned long long user, nice, system, idle, iowait, irq, softirq,
	    steal;
	long hz = sysconf(_SC_CLK_TCK);
	int n;
	FILE *f;

	f = fopen("/proc/stat", "re");
	if (f == NULL)
		return errno;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user,
	           &nice, &system, &idle, &iowait, &irq, &softirq, &steal);
	fclose(f);
	if (n != 8)
		return EPROTO;
	if (hz <= 0)
		hz = 100;
	m->busy = (double)(user + nice + system + irq + softirq) / (double)hz;
	m->steal = (double)steal / (double)hz;
	return 0;
}
