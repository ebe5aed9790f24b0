libturnpike_a_SOURCES += \
	src/shm/shm.c
