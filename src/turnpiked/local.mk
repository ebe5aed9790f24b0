sbin_PROGRAMS += turnpiked
turnpiked_SOURCES = src/turnpiked/main.c
turnpiked_CPPFLAGS = $(AM_CPPFLAGS)
turnpiked_LDADD = $(TURNPIKE_LIBS)
