/*
 * Replies to STUN requests over UDP, held until the callbacks already
 * active in the event loop have run, and then sent back to back.
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
 * The wait is bounded: the first reply queued makes a flush event active,
 * which libevent runs after every callback active before it, of any kind
 * (UDP, TCP, TLS, timers), and before any made active later (a flooded
 * socket that re-arms itself goes behind it). A full queue flushes at
 * once. Closing an allocation's socket flushes too, so no reply goes out
 * through a descriptor number reused since; all of the queue goes then,
 * for a reply sent alone pays its wakeup alone.
 * Data relayed to a client with a reply queued flushes the queue first
 * (relay.c): a client
 * that binds a channel must see the ChannelBind success before the first
 * ChannelData on it, or it may drop that data (RFC 8656 §12).
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

/* Its flush event belongs to worker->base. */
struct reply_queue *reply_queue_new(struct worker *worker);
void reply_queue_free(struct reply_queue *queue);
/* Sends every queued reply; a refused one is counted in tx_errors. */
void reply_queue_flush(struct worker *worker);
/* The same, when a reply waits to go out through fd, an allocation's
 * client socket, or through a listener: data to that client is about to
 * follow. All go, in one burst, not that one alone. */
void reply_queue_flush_before(struct worker *worker, int fd);

#endif
