libturnpike_a_SOURCES += \
	src/worker/worker.c \
	src/worker/udp.c \
	src/worker/dispatch.c \
	src/worker/turn_service.c \
	src/worker/response.c \
	src/worker/reply.c \
	src/worker/relay.c \
	src/worker/batch.c \
	src/worker/limiter.c \
	src/worker/allocation.c \
	src/worker/session.c \
	src/worker/revocations.c \
	src/worker/reservation.c \
	src/worker/record.c \
	src/worker/worker_private.h \
	src/worker/allocation.h \
	src/worker/response.h \
	src/worker/relay.h \
	src/worker/limiter.h \
	src/worker/batch.h \
	src/worker/reply.h
libturnpike_a_SOURCES += \
	src/worker/stream.c \
	src/worker/stream_accept.c \
	src/worker/stream.h
