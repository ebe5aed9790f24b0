libturnpike_a_SOURCES += \
	src/net/addr.c \
	src/net/pktinfo.c \
	src/net/socket.c \
	src/net/steer.c
