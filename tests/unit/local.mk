UNIT_TESTS = \
	tests/unit/test_stun \
	tests/unit/test_conf \
	tests/unit/test_log \
	tests/unit/test_auth \
	tests/unit/test_turn \
	tests/unit/test_net \
	tests/unit/test_store \
	tests/unit/test_ratelimit \
	tests/unit/test_worker \
	tests/unit/test_master

check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)

tests_unit_test_stun_SOURCES = tests/unit/test_stun.c \
	tests/unit/test_stun_roundtrip.c tests/unit/test_stun_malformed.c \
	tests/unit/test_stun_frame.c tests/unit/test_stun_digest.c \
	tests/unit/test_stun.h
tests_unit_test_stun_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_stun_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_stun_LDADD = $(UNIT_LDADD)

tests_unit_test_conf_SOURCES = tests/unit/test_conf.c \
	tests/unit/test_conf_listen.c tests/unit/test_conf_keys.c \
	tests/unit/test_conf_rates.c tests/unit/test_conf.h
tests_unit_test_conf_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_conf_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_conf_LDADD = $(UNIT_LDADD)

tests_unit_test_log_SOURCES = tests/unit/test_log.c
tests_unit_test_log_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_log_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_log_LDADD = $(UNIT_LDADD)

tests_unit_test_auth_SOURCES = tests/unit/test_auth.c \
	tests/unit/test_auth_nonce.c tests/unit/test_auth_rest.c \
	tests/unit/test_auth_lookup.c tests/unit/test_auth.h
tests_unit_test_auth_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_auth_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_auth_LDADD = $(UNIT_LDADD)

tests_unit_test_turn_SOURCES = tests/unit/test_turn.c \
	tests/unit/test_turn_policy.c tests/unit/test_turn.h
tests_unit_test_turn_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_turn_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_turn_LDADD = $(UNIT_LDADD)

tests_unit_test_net_SOURCES = tests/unit/test_net.c
tests_unit_test_net_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_net_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_net_LDADD = $(UNIT_LDADD)

tests_unit_test_store_SOURCES = tests/unit/test_store.c \
	tests/unit/test_store_procs.c tests/unit/test_store_durable.c \
	tests/unit/test_store.h
tests_unit_test_store_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_store_CPPFLAGS = $(UNIT_CPPFLAGS) $(LMDB_CFLAGS)
tests_unit_test_store_LDADD = $(UNIT_LDADD)

tests_unit_test_ratelimit_SOURCES = tests/unit/test_ratelimit.c \
	tests/unit/test_ratelimit_shared.c tests/unit/test_ratelimit_pacer.c \
	tests/unit/test_ratelimit_run.c \
	tests/unit/test_ratelimit.h
tests_unit_test_ratelimit_CFLAGS = $(UNIT_CFLAGS) $(PTHREAD_CFLAGS)
tests_unit_test_ratelimit_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_ratelimit_LDADD = $(UNIT_LDADD)

tests_unit_test_worker_SOURCES = tests/unit/test_worker.c
tests_unit_test_worker_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_worker_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_worker_LDADD = $(UNIT_LDADD)

tests_unit_test_master_SOURCES = tests/unit/test_master.c
tests_unit_test_master_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_master_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_master_LDADD = $(UNIT_LDADD)
