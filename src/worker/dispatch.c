/*
 * A datagram that reached a listener, or a client socket it does not
 * belong to (DESIGN.md section 2: stray packets are normal and are served
 * exactly as the listener would serve them).
 */
#include "config.h"

#include <errno.h>

#include "allocation.h"
#include "relay.h"

void worker_dispatch(struct worker *worker, const struct worker_datagram *dg)
{
	struct allocation *allocation;
	struct stun_msg msg;
	int err;

	allocation = allocation_find(worker, dg->socket->listener_index,
	                             dg->local, dg->from);
	err = stun_msg_decode(&msg, dg->data, dg->length);
	if (err == 0) {
		(void)worker_handle_stun(worker, dg, &msg, allocation);
		return;
	}
	if (err == ENOMSG && allocation != NULL &&
	    relay_channel_data(allocation, dg->data, dg->length))
		return;
	if (err == ENOMSG)
		worker->metrics->rx_unknown++;
	else
		worker->metrics->rx_malformed++;
}
