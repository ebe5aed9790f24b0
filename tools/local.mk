# turnpike-bench: the load generator (tools/bench/), and `make bench`,
# which runs it against turnpiked and coturn side by side.
bin_PROGRAMS += turnpike-bench
turnpike_bench_SOURCES = \
	tools/bench/bench.h \
	tools/bench/main.c \
	tools/bench/run.c \
	tools/bench/report.c \
	tools/bench/client.c \
	tools/bench/alloc.c \
	tools/bench/limiter.c \
	tools/bench/wakeup.c \
	tools/bench/traffic.c \
	tools/bench/stream.c \
	tools/bench/peer.c \
	tools/bench/procstat.c \
	tools/bench/hist.c
turnpike_bench_CPPFLAGS = $(AM_CPPFLAGS) $(SSL_CFLAGS) $(CRYPTO_CFLAGS)
turnpike_bench_CFLAGS = $(AM_CFLAGS) $(PTHREAD_CFLAGS)
turnpike_bench_LDADD = $(TURNPIKE_LIBS) -lpthread

EXTRA_DIST += bench/compare.sh BENCHMARKS.md

# BENCH_FLAGS=--quick for a smoke run.
bench: turnpiked$(EXEEXT) turnpike-bench$(EXEEXT)
	TURNPIKED='$(abs_top_builddir)/turnpiked' \
	TURNPIKE_BENCH='$(abs_top_builddir)/turnpike-bench' \
	$(SHELL) '$(srcdir)/bench/compare.sh' $(BENCH_FLAGS)
.PHONY: bench
