# The STUN/TURN codec: libc and libcrypto only (STYLE.md rule 2). The list is
# a variable so that the fuzz targets can compile the codec with coverage.
STUN_SOURCES = \
	src/stun/msg.c \
	src/stun/attr.c \
	src/stun/addr.c \
	src/stun/writer.c \
	src/stun/integrity.c \
	src/stun/digest.c \
	src/stun/crc32.c \
	src/stun/channel_data.c \
	src/stun/names.c \
	src/stun/stun_private.h

libturnpike_a_SOURCES += $(STUN_SOURCES)
