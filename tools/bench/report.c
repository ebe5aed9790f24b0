/*
 * The report: a summary for people (unless -q), then one line for
 * scripts, "RESULT key=value ...", whose keys are the same in every run of
 * a mode; a value that was not measured is "-".
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "bench.h"

static double us(uint64_t ns)
{
	return (double)ns / 1e3;
}

static void print_latency(const char *prefix, const struct hist *h)
{
	if (h == NULL || h->total == 0) {
		printf(" %sp50_us=- %sp90_us=- %sp99_us=- %smax_us=-", prefix,
		       prefix, prefix, prefix);
		return;
	}
	printf(" %sp50_us=%.1f %sp90_us=%.1f %sp99_us=%.1f %smax_us=%.1f",
	       prefix, us(hist_quantile(h, 0.50)), prefix,
	       us(hist_quantile(h, 0.90)), prefix, us(hist_quantile(h, 0.99)),
	       prefix, us(h->max));
}

static void summary_latency(const char *what, const struct hist *h)
{
	printf("  %-10s p50 %.1f  p90 %.1f  p99 %.1f  max %.1f us\n", what,
	       us(hist_quantile(h, 0.50)), us(hist_quantile(h, 0.90)),
	       us(hist_quantile(h, 0.99)), us(h->max));
}

/* CPU seconds the rest of the machine used meanwhile: with the server not
 * measured, that includes the server. */
static double other_load(const struct report *r)
{
	double other = r->machine_busy - r->generator_cpu;

	if (r->have_cpu)
		other -= r->server_cpu;
	return other > 0 ? other : 0;
}

/* Wakeups were counted (schedstat) and the server did something. */
static bool have_wakeups(const struct report *r, uint64_t units)
{
	return r->have_cpu && r->have_runs && units > 0 && r->server_runs > 0;
}

/* Server CPU per unit (relayed packet or allocation), and the generator's
 * own CPU, so that a reader can tell which side was the bottleneck. */
static void print_cpu(const struct report *r, uint64_t units, const char *unit)
{
	if (r->have_cpu && units > 0)
		printf(
		    " server_procs=%u server_cpu_s=%.3f server_us_per_%s=%.3f",
		    r->processes, r->server_cpu, unit,
		    r->server_cpu * 1e6 / (double)units);
	else
		printf(" server_procs=0 server_cpu_s=- server_us_per_%s=-",
		       unit);
	/* At low rates the cost is mostly per wakeup, not per packet:
	 * how often the server woke, and what each wakeup cost. */
	if (have_wakeups(r, units))
		printf(" server_wakeups_per_%s=%.3f server_us_per_wakeup=%.2f",
		       unit, (double)r->server_runs / (double)units,
		       r->server_cpu * 1e6 / (double)r->server_runs);
	else
		printf(" server_wakeups_per_%s=- server_us_per_wakeup=-", unit);
	printf(" generator_cpu_s=%.3f generator_cpu_pct=%.0f", r->generator_cpu,
	       r->seconds > 0 ? 100 * r->generator_cpu / r->seconds : 0.0);
	if (r->machine_busy >= 0 && r->seconds > 0)
		printf(" other_cpu_pct=%.0f steal_pct=%.0f",
		       100 * other_load(r) / r->seconds,
		       100 * r->machine_steal / r->seconds);
	else
		printf(" other_cpu_pct=- steal_pct=-");
}

static void summary_cpu(const struct report *r, uint64_t units,
                        const char *unit)
{
	if (r->have_cpu && units > 0)
		printf("  server     %.3f s CPU in %u process%s, %.3f us per "
		       "%s%s\n",
		       r->server_cpu, r->processes,
		       r->processes == 1 ? "" : "es",
		       r->server_cpu * 1e6 / (double)units, unit,
		       r->gone > 0 ? " (some exited meanwhile)" : "");
	if (have_wakeups(r, units))
		printf("  wakeups    %.3f per %s, %.2f us CPU each\n",
		       (double)r->server_runs / (double)units, unit,
		       r->server_cpu * 1e6 / (double)r->server_runs);
	printf("  generator  %.3f s CPU, %.0f %% of one core\n",
	       r->generator_cpu,
	       r->seconds > 0 ? 100 * r->generator_cpu / r->seconds : 0.0);
	if (r->machine_busy >= 0 && r->seconds > 0)
		printf("  others     %.0f %% of one core meanwhile%s (steal "
		       "%.0f %%): noise\n",
		       100 * other_load(r) / r->seconds,
		       r->have_cpu ? "" : ", the server included",
		       100 * r->machine_steal / r->seconds);
}

static double per_allocation(uint64_t before, uint64_t after, unsigned n)
{
	return after > before ? (double)(after - before) / n : 0.0;
}

static void print_memory(const struct bench_options *o, const struct report *r)
{
	if (!r->have_cpu) {
		printf(" server_rss_kib=- server_kib_per_alloc=- "
		       "server_fds_per_alloc=-");
		return;
	}
	printf(" server_rss_kib=%llu server_kib_per_alloc=%.2f "
	       "server_fds_per_alloc=%.2f",
	       (unsigned long long)r->rss_after,
	       per_allocation(r->rss_before, r->rss_after, o->allocations),
	       per_allocation(r->fds_before, r->fds_after, o->allocations));
}

/* A flow run's figures, from the report. */
struct flow_figures {
	uint64_t relayed; /* by the server: to the peer, and back in echo */
	uint64_t late;    /* of relayed, after the senders had stopped */
	double pps;       /* relayed per second */
	double loss;      /* per cent */
};

/*
 * Echo: the server relayed each datagram twice, and a datagram is lost
 * unless it came all the way back.
 *
 * Relayed per second: over TCP and TLS only what arrived while the
 * senders ran counts. Flat out, the connections' buffers (megabytes each,
 * as the kernel tunes them) fill up, and what they hold when the senders
 * stop would add up to a second of the server's output to a run. Over UDP
 * the server's socket buffer holds a few milliseconds, and the figure
 * stays as earlier runs measured it.
 */
static void flow_figures(const struct bench_options *o, const struct report *r,
                         struct flow_figures *f)
{
	uint64_t by_end = r->peer_by_end + (o->echo ? r->echoed_by_end : 0);
	uint64_t arrived = o->echo ? r->echoed : r->peer;

	f->relayed = r->peer + (o->echo ? r->echoed : 0);
	f->late = f->relayed > by_end ? f->relayed - by_end : 0;
	f->pps = 0;
	if (r->seconds > 0)
		f->pps = (double)(o->transport == BENCH_TRANSPORT_UDP
		                      ? f->relayed
		                      : f->relayed - f->late) /
		         r->seconds;
	f->loss = 100.0;
	if (r->sent > 0)
		f->loss = 100.0 * (1.0 - (double)arrived / (double)r->sent);
}

static void summary_flow(const struct bench_options *o, const struct report *r,
                         const struct flow_figures *f)
{
	printf("turnpike-bench: %u allocations over %s, %s of %u bytes, %s, "
	       "%.2f s\n",
	       o->allocations, bench_transport_name(o->transport),
	       o->send_indications ? "Send indications" : "ChannelData",
	       o->payload, o->echo ? "echo" : "one-way", r->seconds);
	printf("  offered    %.0f pps (%llu sent, %llu not taken by the "
	       "kernel)\n",
	       r->sent / r->seconds, (unsigned long long)r->sent,
	       (unsigned long long)r->send_errors);
	if (o->rate > 0)
		printf("  schedule   at most %.1f ms behind\n",
		       (double)r->send_lag_max_ns / 1e6);
	printf("  peer       %.0f pps (%llu, counted %s)\n",
	       r->peer / r->seconds, (unsigned long long)r->peer,
	       r->filter_counted ? "from the socket filter's drops"
	                         : "by a receiving thread");
	if (o->echo) {
		printf("  echoed     %.0f pps round trips\n",
		       r->echoed / r->seconds);
		summary_latency("rtt", r->latency);
	}
	printf("  relayed    %.0f pps, loss %.3f %% (%llu relayed after the "
	       "senders stopped%s)\n",
	       f->pps, f->loss, (unsigned long long)f->late,
	       o->transport == BENCH_TRANSPORT_UDP ? "" : ", not in the pps");
	summary_cpu(r, f->relayed, "relayed packet");
	if (r->have_cpu)
		printf(
		    "  memory     %.1f KiB and %.2f descriptors per "
		    "allocation (RSS %llu KiB)\n",
		    per_allocation(r->rss_before, r->rss_after, o->allocations),
		    per_allocation(r->fds_before, r->fds_after, o->allocations),
		    (unsigned long long)r->rss_after);
}

void report_flow(const struct bench_options *o, const struct report *r)
{
	struct flow_figures f;
	char lag[32] = "-";

	flow_figures(o, r, &f);
	if (o->rate > 0)
		snprintf(lag, sizeof(lag), "%.0f",
		         (double)r->send_lag_max_ns / 1e3);
	if (!o->quiet)
		summary_flow(o, r, &f);
	printf("RESULT mode=flow client=%s transport=%s echo=%d allocations=%u "
	       "size=%u rate=%llu seconds=%.3f sent=%llu offered_pps=%.0f "
	       "send_lag_max_us=%s relayed=%llu relayed_pps=%.0f "
	       "relayed_late=%llu peer=%llu "
	       "echoed=%llu loss_pct=%.3f malformed=%llu count_method=%s",
	       bench_transport_name(o->transport),
	       o->send_indications ? "send" : "channel", o->echo ? 1 : 0,
	       o->allocations, o->payload, (unsigned long long)o->rate,
	       r->seconds, (unsigned long long)r->sent, r->sent / r->seconds,
	       lag, (unsigned long long)f.relayed, f.pps,
	       (unsigned long long)f.late, (unsigned long long)r->peer,
	       (unsigned long long)r->echoed, f.loss,
	       (unsigned long long)r->malformed,
	       r->filter_counted ? "filter" : "thread");
	print_latency("rtt_", o->echo ? r->latency : NULL);
	print_cpu(r, f.relayed, "pkt");
	print_memory(o, r);
	printf("\n");
	fflush(stdout);
}

void report_alloc(const struct bench_options *o, const struct report *r)
{
	const struct alloc_result *a = r->alloc;

	if (!o->quiet) {
		printf("turnpike-bench: %u allocations over %s, %u at a time: "
		       "Allocate with authentication, CreatePermission, "
		       "ChannelBind, Refresh 0\n",
		       a->done, bench_transport_name(o->transport),
		       o->concurrency);
		printf("  rate       %.0f allocations/s (%.3f s)\n",
		       a->done / a->seconds, a->seconds);
		summary_latency("cycle", &a->latency);
		summary_cpu(r, a->done, "allocation");
	}
	printf("RESULT mode=alloc client=%s count=%u concurrency=%u done=%u "
	       "seconds=%.3f allocs_per_s=%.1f",
	       bench_transport_name(o->transport), o->count, o->concurrency,
	       a->done, a->seconds, a->done / a->seconds);
	print_latency("lat_", &a->latency);
	print_cpu(r, a->done, "alloc");
	printf("\n");
	fflush(stdout);
}
