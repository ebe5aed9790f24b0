/*
 * counters: the workers' metrics (metrics.h), summed over every worker
 * since turnpiked started, as the master published them in its snapshot:
 * what was relayed, and what was dropped or refused and why. As text, as
 * JSON, or in Prometheus's text exposition format (version 0.0.4), for
 * node_exporter's textfile collector, a scraper that runs a command, or
 * over HTTP (serve.c).
 */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "turnpike/metrics.h"
#include "ctl.h"

struct counter_help {
	const char *name, *help;
};

static const struct counter_help helps[] = {
#define COUNTER_HELP(name, help) {#name, help},
    METRICS_FIELDS(COUNTER_HELP)
#undef COUNTER_HELP
};

/* What a counter means; NULL for one this turnpikectl does not know (a
 * newer master's). */
static const char *help_of(const char *name)
{
	for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++)
		if (strcmp(helps[i].name, name) == 0)
			return helps[i].help;
	return NULL;
}

static void print_text(const struct store_status *s)
{
	for (uint32_t i = 0; i < s->counter_count; i++) {
		const char *help = help_of(s->counters[i].name);

		printf("%-24s %20" PRIu64 "%s%s\n", s->counters[i].name,
		       s->counters[i].value, help != NULL ? "  " : "",
		       help != NULL ? help : "");
	}
}

static void print_json(const struct store_status *s)
{
	struct json json;

	json_init(&json, stdout);
	json_object_begin(&json, NULL);
	json_uint(&json, "snapshot_time", s->time);
	json_object_begin(&json, "counters");
	for (uint32_t i = 0; i < s->counter_count; i++)
		json_uint(&json, s->counters[i].name, s->counters[i].value);
	json_object_end(&json);
	json_object_end(&json);
	json_finish(&json);
}

static bool is_gauge(const char *name)
{
#define GAUGE_MATCH(gauge) strcmp(name, #gauge) == 0 ||
	return METRICS_GAUGES(GAUGE_MATCH) false;
#undef GAUGE_MATCH
}

/* [a-z_][a-z0-9_]*, as every name in metrics.h: a name from the snapshot
 * that is not might not be a valid Prometheus metric name. */
static bool plain_name(const char *name)
{
	if (*name == '\0' || (*name >= '0' && *name <= '9'))
		return false;
	for (; *name != '\0'; name++)
		if ((*name < 'a' || *name > 'z') &&
		    (*name < '0' || *name > '9') && *name != '_')
			return false;
	return true;
}

/* The rate limits' packets by level (turnpikectl status's table), as
 * three counters labelled by level. */
static const struct {
	const char *name, *help;
} rate_outcomes[] = {
    {"passed", "packets a rate-limit level let through, at once or delayed"},
    {"delayed", "packets a rate-limit level held back (rate-policy pace)"},
    {"dropped", "packets a rate-limit level refused"},
};

static uint64_t rate_outcome(const struct store_rate_counters *c, size_t o)
{
	return o == 0 ? c->passed : o == 1 ? c->delayed : c->dropped;
}

static void print_rate_limits(FILE *out, const struct store_status *s)
{
	struct store_status_worker total;

	ctl_status_total(s, &total);
	for (size_t o = 0; o < sizeof(rate_outcomes) / sizeof(rate_outcomes[0]);
	     o++) {
		fprintf(out,
		        "# HELP turnpike_rate_limit_%s_total %s\n"
		        "# TYPE turnpike_rate_limit_%s_total counter\n",
		        rate_outcomes[o].name, rate_outcomes[o].help,
		        rate_outcomes[o].name);
		for (int level = 0; level < STORE_RATE_LEVELS; level++)
			fprintf(out,
			        "turnpike_rate_limit_%s_total{level=\"%s\"} "
			        "%" PRIu64 "\n",
			        rate_outcomes[o].name,
			        ctl_rate_level_names[level],
			        rate_outcome(&total.rate[level], o));
	}
}

/* A counter's name ends in _total, as Prometheus's naming rules ask. A
 * counter this turnpikectl does not know (a newer master's) is untyped. */
void ctl_prometheus_write(FILE *out, const struct store_status *s)
{
	for (uint32_t i = 0; i < s->counter_count; i++) {
		const char *name = s->counters[i].name;
		const char *help = help_of(name);
		bool gauge = is_gauge(name);
		const char *suffix = help != NULL && !gauge ? "_total" : "";

		if (!plain_name(name))
			continue;
		if (help != NULL)
			fprintf(out, "# HELP turnpike_%s%s %s\n", name, suffix,
			        help);
		fprintf(out, "# TYPE turnpike_%s%s %s\n", name, suffix,
		        help == NULL ? "untyped"
		        : gauge      ? "gauge"
		                     : "counter");
		fprintf(out, "turnpike_%s%s %" PRIu64 "\n", name, suffix,
		        s->counters[i].value);
	}
	print_rate_limits(out, s);
	fprintf(
	    out,
	    "# HELP turnpike_snapshot_time_seconds when the master published "
	    "these figures (Unix time)\n"
	    "# TYPE turnpike_snapshot_time_seconds gauge\n"
	    "turnpike_snapshot_time_seconds %" PRIu64 "\n",
	    s->time);
}

static int show_counters(const struct ctl *ctl, const struct store_status *s)
{
	if (s->counter_count == 0)
		return ctl_error("the running turnpiked publishes no counters "
		                 "(restart it to run this version)");
	if (ctl->json)
		print_json(s);
	else if (ctl->prometheus)
		ctl_prometheus_write(stdout, s);
	else
		print_text(s);
	return CTL_EXIT_OK;
}

int ctl_cmd_counters(struct ctl *ctl)
{
	return ctl_with_snapshot(ctl, "counters", show_counters);
}
