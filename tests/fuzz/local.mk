# libFuzzer targets, one per decoder (configure --enable-fuzzing, CC=clang).
# `make fuzz FUZZ_SECONDS=60` runs each for that long from its seed corpus.
FUZZ_TARGETS = tests/fuzz/fuzz_stun_decode tests/fuzz/fuzz_stream_frame \
	tests/fuzz/fuzz_auth tests/fuzz/fuzz_turn
EXTRA_DIST += tests/fuzz/run-fuzzers tests/fuzz/corpus
if ENABLE_FUZZING
noinst_PROGRAMS += $(FUZZ_TARGETS)
FUZZ_FLAGS = -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -g
# The codec is compiled into the target with the fuzzer's instrumentation:
# linked from libturnpike.a it would give libFuzzer no coverage to steer by.
tests_fuzz_fuzz_stun_decode_SOURCES = tests/fuzz/fuzz_stun_decode.c \
	$(STUN_SOURCES)
tests_fuzz_fuzz_stun_decode_CPPFLAGS = $(AM_CPPFLAGS) $(CRYPTO_CFLAGS)
tests_fuzz_fuzz_stun_decode_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_stun_decode_LDFLAGS = $(FUZZ_FLAGS)
tests_fuzz_fuzz_stun_decode_LDADD = $(CRYPTO_LIBS)
tests_fuzz_fuzz_stream_frame_SOURCES = tests/fuzz/fuzz_stream_frame.c \
	$(STUN_SOURCES)
tests_fuzz_fuzz_stream_frame_CPPFLAGS = $(AM_CPPFLAGS) $(CRYPTO_CFLAGS)
tests_fuzz_fuzz_stream_frame_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_stream_frame_LDFLAGS = $(FUZZ_FLAGS)
tests_fuzz_fuzz_stream_frame_LDADD = $(CRYPTO_LIBS)
tests_fuzz_fuzz_auth_SOURCES = tests/fuzz/fuzz_auth.c $(STUN_SOURCES) \
	$(AUTH_SOURCES)
tests_fuzz_fuzz_auth_CPPFLAGS = $(AM_CPPFLAGS) $(CRYPTO_CFLAGS)
tests_fuzz_fuzz_auth_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_auth_LDFLAGS = $(FUZZ_FLAGS)
tests_fuzz_fuzz_auth_LDADD = $(CRYPTO_LIBS)
tests_fuzz_fuzz_turn_SOURCES = tests/fuzz/fuzz_turn.c $(STUN_SOURCES) \
	$(TURN_SOURCES)
tests_fuzz_fuzz_turn_CPPFLAGS = $(AM_CPPFLAGS) $(CRYPTO_CFLAGS)
tests_fuzz_fuzz_turn_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_turn_LDFLAGS = $(FUZZ_FLAGS)
tests_fuzz_fuzz_turn_LDADD = $(CRYPTO_LIBS)

FUZZ_SECONDS ?= 60
fuzz: $(FUZZ_TARGETS)
	$(top_srcdir)/tests/fuzz/run-fuzzers $(FUZZ_SECONDS) $(FUZZ_TARGETS)
else
fuzz:
	@echo "configure with CC=clang --enable-fuzzing to build the fuzzers" >&2; exit 1
endif
.PHONY: fuzz
