libturnpike_a_SOURCES += \
	src/tls/context.c
