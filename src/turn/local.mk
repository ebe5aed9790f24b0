# TURN's decisions: the stun codec and libc only, so that a fuzz target can
# compile them with coverage (tests/fuzz/local.mk).
TURN_SOURCES = \
	src/turn/state.c \
	src/turn/allocate.c \
	src/turn/peer_policy.c \
	src/turn/wheel.c

libturnpike_a_SOURCES += $(TURN_SOURCES)
