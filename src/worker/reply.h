/*
 * Replies to STUN requests over UDP, held to the end of the event loop's
 * round and then sent back to back.
 *
 * Why: runs to one socket (a listener's replies to a batch of Allocates)
 * leave in one sendmmsg(), and the send path runs hot. To a client on
 * the same host (loopback, a neighbouring container) it saves more: a
 * reply wakes the client's thread, and where CPUs halt when idle (most
 * virtual machines) waking a halted CPU costs the sender an
 * inter-processor interrupt of several microseconds. Replies sent as
 * each request is served pay it once per reply; sent together, they
 * find the client's CPU already waking, and only the first pays.
 *
 * The wait is bounded: worker_run() flushes after every round of the
 * event loop, a full queue flushes, and so do WORKER_CALLBACKS_PER_POLL
 * socket callbacks in a row without the round ending (a flooded socket
 * keeps a round going). Closing an allocation's socket flushes too, so
 * no reply goes out through a descriptor number reused since; all of
 * the queue goes then, for a reply sent alone pays its wakeup alone.
 * Data the relay sends in the same round may overtake a reply; UDP never
 * promised the order, and a client must already cope with it.
 */
#ifndef TURNPIKE_WORKER_REPLY_H
#define TURNPIKE_WORKER_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "worker_private.h"

/* Replies held at once, and the bytes they may take: STUN responses are
 * small (a challenge or an Allocate success is under 300 bytes). */
#define REPLY_QUEUE_ENTRIES 32
#define REPLY_QUEUE_BYTES   (32 * 1024)

struct reply_queue;

struct reply_queue *reply_queue_new(void);
void reply_queue_free(struct reply_queue *queue);
/* Sends every queued reply; a refused one is counted in tx_errors. */
void reply_queue_flush(struct worker *worker);
/* A socket callback ran: flushes when the round has gone on for
 * WORKER_CALLBACKS_PER_POLL callbacks with replies waiting. */
void reply_queue_callback_done(struct worker *worker);

#endif
