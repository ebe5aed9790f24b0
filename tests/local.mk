# Unit tests (Criterion), one program per module: tests/unit/test_<module>.c.
UNIT_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
UNIT_CPPFLAGS = $(AM_CPPFLAGS) $(CRYPTO_CFLAGS)
UNIT_LDADD = $(TURNPIKE_LIBS) $(CRITERION_LIBS)

if ENABLE_TESTS
include tests/unit/local.mk
endif
include tests/integration/local.mk
include tests/fuzz/local.mk
