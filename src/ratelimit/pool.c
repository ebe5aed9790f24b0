/*
 * The packet pool: every buffer the pacer will ever use, allocated at
 * init, handed out and taken back through a free list in O(1).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/ratelimit.h"

#define RL_POOL_ALIGN 16

int rl_pool_init(struct rl_pool *pool, size_t packets, size_t packet_size)
{
	size_t stride;

	memset(pool, 0, sizeof(*pool));
	if (packets == 0 || packet_size == 0 ||
	    packet_size > SIZE_MAX / 2 - sizeof(struct rl_packet))
		return EINVAL;
	stride = sizeof(struct rl_packet) + packet_size;
	stride = (stride + RL_POOL_ALIGN - 1) & ~(size_t)(RL_POOL_ALIGN - 1);
	if (packets > SIZE_MAX / stride)
		return EINVAL;
	pool->memory = malloc(packets * stride);
	if (pool->memory == NULL)
		return ENOMEM;
	pool->stride = stride;
	pool->packet_size = packet_size;
	pool->capacity = packets;
	/* Buffers never used are handed out in address order from `fresh`,
	 * not threaded on the free list here: the pages of a pool that
	 * never fills are never touched, so an idle pacer costs no memory. */
	pool->fresh = 0;
	return 0;
}

void rl_pool_free(struct rl_pool *pool)
{
	free(pool->memory);
	memset(pool, 0, sizeof(*pool));
}

struct rl_packet *rl_pool_take(struct rl_pool *pool)
{
	struct rl_packet *packet = pool->free_list;

	if (packet == NULL) {
		if (pool->fresh == pool->capacity)
			return NULL;
		packet = (struct rl_packet *)(pool->memory +
		                              pool->fresh++ * pool->stride);
	} else {
		pool->free_list = packet->next;
	}
	pool->used++;
	packet->next = NULL;
	return packet;
}

void rl_pool_give(struct rl_pool *pool, struct rl_packet *packet)
{
	packet->next = pool->free_list;
	pool->free_list = packet;
	pool->used--;
}
