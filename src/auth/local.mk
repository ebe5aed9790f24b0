libturnpike_a_SOURCES += \
	src/auth/nonce.c \
	src/auth/credentials.c \
	src/auth/rest.c \
	src/auth/auth_private.h
