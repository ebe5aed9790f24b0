/*
 * A timing wheel of one-second slots for allocation expiry: one intrusive
 * node per allocation, TURN_WHEEL_SLOTS circular doubly-linked lists whose
 * heads are sentinels, and no allocation.
 *
 * Invariant: a node with deadline >= wheel->now sits in slot
 * deadline % TURN_WHEEL_SLOTS; one scheduled at or before wheel->now sits
 * in the slot of wheel->now, so that the next turn_wheel_expired() finds
 * it. The slot of wheel->now is being scanned: the nodes before
 * wheel->cursor have been looked at and were not due, and the earliest of
 * their deadlines is at least wheel->cursor_min.
 *
 * Cost: schedule and cancel are O(1). turn_wheel_expired() advances over at
 * most TURN_WHEEL_SLOTS slots per call (a longer gap jumps to the last lap,
 * which holds every slot once), and the cursor makes it look at each node
 * of a slot once per visit of the slot, however many due nodes it hands
 * out one call at a time: draining k due nodes among n not yet due in a
 * slot is O(n + k), not O(n * k). A node whose deadline lies L laps ahead
 * is passed over L times before it is due.
 */
#include "config.h"

#include "turnpike/turn.h"

static struct turn_wheel_node *turn_wheel_slot(struct turn_wheel *wheel,
                                               uint64_t time)
{
	return &wheel->slots[time % TURN_WHEEL_SLOTS];
}

/* Starts the scan of the slot of wheel->now from its first node. */
static void turn_wheel_rewind(struct turn_wheel *wheel)
{
	wheel->cursor = turn_wheel_slot(wheel, wheel->now)->next;
	wheel->cursor_min = UINT64_MAX;
}

void turn_wheel_init(struct turn_wheel *wheel, uint64_t now)
{
	size_t i;

	for (i = 0; i < TURN_WHEEL_SLOTS; i++) {
		wheel->slots[i].next = &wheel->slots[i];
		wheel->slots[i].prev = &wheel->slots[i];
		wheel->slots[i].deadline = 0;
	}
	wheel->now = now;
	wheel->count = 0;
	turn_wheel_rewind(wheel);
}

static void turn_wheel_unlink(struct turn_wheel *wheel,
                              struct turn_wheel_node *node)
{
	/* The scan resumes at what followed the node. */
	if (wheel->cursor == node)
		wheel->cursor = node->next;
	node->prev->next = node->next;
	node->next->prev = node->prev;
	node->next = NULL;
	node->prev = NULL;
	wheel->count--;
}

void turn_wheel_schedule(struct turn_wheel *wheel, struct turn_wheel_node *node,
                         uint64_t deadline)
{
	struct turn_wheel_node *head;

	if (turn_wheel_scheduled(node))
		turn_wheel_unlink(wheel, node);
	node->deadline = deadline;
	head = turn_wheel_slot(wheel,
	                       deadline > wheel->now ? deadline : wheel->now);
	/* At the tail, so after the cursor of a slot being scanned; when that
	 * scan had reached the end, the node is the next one to look at. */
	node->prev = head->prev;
	node->next = head;
	head->prev->next = node;
	head->prev = node;
	if (wheel->cursor == head)
		wheel->cursor = node;
	wheel->count++;
}

void turn_wheel_cancel(struct turn_wheel *wheel, struct turn_wheel_node *node)
{
	if (turn_wheel_scheduled(node))
		turn_wheel_unlink(wheel, node);
}

/* The next due node in the slot of wheel->now, taken off the wheel, or
 * NULL when the rest of the slot is for later laps. */
static struct turn_wheel_node *turn_wheel_scan(struct turn_wheel *wheel,
                                               uint64_t now)
{
	struct turn_wheel_node *head = turn_wheel_slot(wheel, wheel->now);
	struct turn_wheel_node *node;

	/* A node passed over earlier has come due (the clock moved by a lap
	 * or more while this slot was current): look at them all again. */
	if (wheel->cursor_min <= now)
		turn_wheel_rewind(wheel);
	for (node = wheel->cursor; node != head; node = node->next) {
		if (node->deadline <= now) {
			turn_wheel_unlink(wheel, node);
			return node;
		}
		if (node->deadline < wheel->cursor_min)
			wheel->cursor_min = node->deadline;
		wheel->cursor = node->next;
	}
	return NULL;
}

/* Makes time the current slot, its scan not yet begun. */
static void turn_wheel_move(struct turn_wheel *wheel, uint64_t time)
{
	wheel->now = time;
	turn_wheel_rewind(wheel);
}

struct turn_wheel_node *turn_wheel_expired(struct turn_wheel *wheel,
                                           uint64_t now)
{
	struct turn_wheel_node *node;

	if (wheel->count == 0) {
		/* Nothing to find: catch up at no cost. */
		if (now > wheel->now)
			turn_wheel_move(wheel, now);
		return NULL;
	}
	/* After a gap of a lap or more, the last lap before now visits every
	 * slot once, and a scan takes every node due by now, whatever its
	 * lap: the slots skipped would only be visited again for nothing. */
	if (now >= wheel->now && now - wheel->now >= TURN_WHEEL_SLOTS)
		turn_wheel_move(wheel, now - (TURN_WHEEL_SLOTS - 1));
	for (;;) {
		node = turn_wheel_scan(wheel, now);
		if (node != NULL || wheel->now >= now)
			return node;
		/* The slot is drained for every time up to now. */
		turn_wheel_move(wheel, wheel->now + 1);
	}
}
