# Authentication: the stun codec and libcrypto only, so that a fuzz target
# can compile it with coverage (tests/fuzz/local.mk).
AUTH_SOURCES = \
	src/auth/nonce.c \
	src/auth/credentials.c \
	src/auth/rest.c \
	src/auth/auth_private.h

libturnpike_a_SOURCES += $(AUTH_SOURCES)
