# Integration tests: turnpiked on loopback driven by real clients.
INTEGRATION_TESTS = \
	tests/integration/config_check.sh \
	tests/integration/stun_binding.sh \
	tests/integration/turn_uclient.sh \
	tests/integration/turn_aioice.sh \
	tests/integration/turn_errors.sh \
	tests/integration/turn_hostile.sh

TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) tests/integration/lib.sh \
	tests/integration/stunprobe.py tests/integration/turnclient.py \
	tests/integration/aioice_client.py
AM_TESTS_ENVIRONMENT = TURNPIKED='$(abs_top_builddir)/turnpiked'; \
	export TURNPIKED;
