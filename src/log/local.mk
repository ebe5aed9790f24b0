libturnpike_a_SOURCES += \
	src/log/log.c
