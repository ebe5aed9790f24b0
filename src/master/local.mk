libturnpike_a_SOURCES += \
	src/master/master.c \
	src/master/listeners.c \
	src/master/workers.c \
	src/master/generation.c \
	src/master/privileges.c \
	src/master/pidfile.c \
	src/master/status.c \
	src/master/master_private.h
