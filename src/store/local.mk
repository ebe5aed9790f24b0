libturnpike_a_SOURCES += \
	src/store/store.c \
	src/store/record.c \
	src/store/allocations.c \
	src/store/users.c \
	src/store/migrate.c \
	src/store/status.c \
	src/store/revocations.c \
	src/store/store_private.h
