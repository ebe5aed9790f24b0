libturnpike_a_SOURCES += \
	src/conf/conf.c \
	src/conf/conf_auth.c \
	src/conf/conf_keys.c \
	src/conf/conf_values.c \
	src/conf/conf_private.h
