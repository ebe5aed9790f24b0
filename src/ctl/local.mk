# turnpikectl: status, allocations, users, quotas, credentials, reload and
# stop, through the store and the pid file (DESIGN.md section 6).
bin_PROGRAMS += turnpikectl
turnpikectl_SOURCES = \
	src/ctl/ctl.h \
	src/ctl/main.c \
	src/ctl/control.c \
	src/ctl/status.c \
	src/ctl/counters.c \
	src/ctl/serve.c \
	src/ctl/users.c \
	src/ctl/revoke.c \
	src/ctl/credentials.c \
	src/ctl/json.c
turnpikectl_CPPFLAGS = $(AM_CPPFLAGS) $(CRYPTO_CFLAGS)
turnpikectl_LDADD = $(TURNPIKE_LIBS)
