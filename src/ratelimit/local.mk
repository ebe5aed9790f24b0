libturnpike_a_SOURCES += \
	src/ratelimit/ratelimit_private.h \
	src/ratelimit/gcra.c \
	src/ratelimit/cascade.c \
	src/ratelimit/user_table.c \
	src/ratelimit/pool.c \
	src/ratelimit/pacer.c
