/*
 * counters: the workers' metrics (metrics.h), summed over the workers
 * running now, as the master published them in its snapshot: what was
 * relayed, and what was dropped or refused and why.
 */
#include "config.h"

#include <inttypes.h>
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

static int show_counters(const struct ctl *ctl, const struct store_status *s)
{
	if (s->counter_count == 0)
		return ctl_error("the running turnpiked publishes no counters "
		                 "(restart it to run this version)");
	if (ctl->json)
		print_json(s);
	else
		print_text(s);
	return CTL_EXIT_OK;
}

int ctl_cmd_counters(struct ctl *ctl)
{
	return ctl_with_snapshot(ctl, "counters", show_counters);
}
