libturnpike_a_SOURCES += \
	src/turn/state.c \
	src/turn/allocate.c \
	src/turn/peer_policy.c \
	src/turn/wheel.c
