/*
 * Generations of workers (DESIGN.md section 7). A reload that changes the
 * listeners or the worker count cannot be applied inside the running
 * workers: their listener sockets are the reuseport group. So the master
 * binds a new set of listeners, forks a new generation into free slots,
 * and retires the old one: its workers close their listeners (the
 * kernel then steers new clients to the new generation only), keep
 * serving their allocations, whose connected sockets still reach them,
 * and exit when those are gone or at drain-timeout.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "turnpike/log.h"
#include "master_private.h"

static bool same_listens(const struct conf *a, const struct conf *b)
{
	size_t i;

	if (a->listen_count != b->listen_count)
		return false;
	for (i = 0; i < a->listen_count; i++) {
		const struct conf_listen *x = &a->listens[i],
		                         *y = &b->listens[i];

		if (x->transport != y->transport ||
		    x->addr_len != y->addr_len ||
		    memcmp(&x->addr, &y->addr, x->addr_len) != 0)
			return false;
	}
	return true;
}

bool master_generation_needed(const struct master *master,
                              const struct conf *fresh, size_t count)
{
	const struct conf *conf = master->conf;

	return count != master->worker_count || !same_listens(conf, fresh) ||
	       conf->listener_rcvbuf != fresh->listener_rcvbuf ||
	       conf->listener_sndbuf != fresh->listener_sndbuf;
}

/* The lowest free slots: a slot is free once its worker is reaped and
 * its records purged, so its index is never shared by two live
 * workers. */
static int reserve_slots(const struct master *master, size_t count,
                         size_t *slots)
{
	size_t i, n = 0;

	for (i = 0; i < MASTER_SLOTS && n < count; i++)
		if (!master->workers[i].in_use)
			slots[n++] = i;
	return n == count ? 0 : ENOSPC;
}

/* The serving slots of the current generation close their listeners in
 * the master now (before the new generation forks, so that it inherits
 * none of them) and in the workers at SIGQUIT. */
static size_t retire_current(struct master *master, uint32_t drain_timeout,
                             time_t now)
{
	size_t i, retired = 0;

	for (i = 0; i < MASTER_SLOTS; i++) {
		struct master_worker *w = &master->workers[i];

		if (!w->in_use || w->draining)
			continue;
		master_retire_slot_listeners(w);
		if (w->pid == 0) {
			/* Waiting for a respawn: nothing left to drain. */
			master_release_slot(w);
			continue;
		}
		w->draining = true;
		w->drain_deadline =
		    now + (time_t)drain_timeout + MASTER_STOP_SECONDS;
		retired++;
	}
	return retired;
}

static void spawn_all(struct master *master, const size_t *slots, size_t count,
                      time_t now)
{
	size_t i;

	for (i = 0; i < count; i++) {
		struct master_worker *w = &master->workers[slots[i]];

		/* A failed fork is retried by the respawn timer. */
		if (master_spawn(master, slots[i]) != 0)
			w->respawn_at = now + 1;
	}
}

int master_start_generation(struct master *master, struct conf *fresh,
                            size_t count)
{
	size_t slots[MASTER_SLOTS], i, retired;
	struct conf *old = master->conf;
	time_t now = time(NULL);
	uint32_t drain_timeout;
	int err;

	if (count > CONF_WORKERS_MAX)
		return EINVAL;
	if ((err = reserve_slots(master, count, slots)) != 0) {
		log_msg(LOG_ERR,
		        "generation refused workers=%zu reason=\"too few free "
		        "worker slots; older generations still draining\"",
		        count);
		return err;
	}
	if ((err = master_check_listeners_free(master, fresh)) != 0 ||
	    (err = master_bind_listeners(master, fresh, slots, count)) != 0)
		return err;
	/* The old generation may drain under either file's limit: the
	 * master waits for the longer. */
	drain_timeout = fresh->drain_timeout;
	if (old != NULL && old->drain_timeout > drain_timeout)
		drain_timeout = old->drain_timeout;
	retired = retire_current(master, drain_timeout, now);
	for (i = 0; i < count; i++) {
		struct master_worker *w = &master->workers[slots[i]];

		w->in_use = true;
		w->draining = false;
		w->generation = master->generation + 1;
		w->failures = 0;
	}
	master->generation++;
	master->worker_count = count;
	master->conf = fresh;
	conf_free(old);
	spawn_all(master, slots, count, now);
	/* The retired workers apply the new file's other settings to the
	 * allocations they keep, then drain. */
	master_signal_draining(master, SIGHUP);
	master_signal_draining(master, SIGQUIT);
	log_info("generation started generation=%llu workers=%zu "
	         "draining=%zu",
	         (unsigned long long)master->generation, count, retired);
	return 0;
}

void master_drain_all(struct master *master)
{
	retire_current(master, master->conf->drain_timeout, time(NULL));
	master_signal_draining(master, SIGQUIT);
}

void master_drain_due(struct master *master)
{
	time_t now = time(NULL);
	size_t i;

	for (i = 0; i < MASTER_SLOTS; i++) {
		struct master_worker *w = &master->workers[i];

		if (w->pid <= 0 || !w->draining || w->drain_deadline == 0 ||
		    now < w->drain_deadline)
			continue;
		log_msg(LOG_WARNING,
		        "drain overdue slot=%zu pid=%ld generation=%llu "
		        "action=kill",
		        i, (long)w->pid, (unsigned long long)w->generation);
		kill(w->pid, SIGKILL);
		w->drain_deadline = 0; /* once */
	}
}
