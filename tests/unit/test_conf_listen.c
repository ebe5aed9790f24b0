/*
 * conf: the keys that say where turnpiked listens and relays (listen,
 * relay-address, external-address, relay-ports).
 */
#include <arpa/inet.h>

#include <criterion/criterion.h>

#include "turnpike/conf.h"
#include "test_conf.h"

/* --- listen ------------------------------------------------------------- */

Test(conf, listen_udp_ipv4_with_port)
{
	struct conf *conf = parse_key("listen", "udp://192.0.2.1:4000");

	cr_assert_eq(conf->listen_count, 1);
	cr_assert_eq(conf->listens[0].transport, CONF_TRANSPORT_UDP);
	assert_address(&conf->listens[0].addr, "192.0.2.1", 4000);
	conf_free(conf);
}

Test(conf, listen_ipv6_needs_brackets)
{
	struct conf *conf = parse_key("listen", "udp://[::1]:3478");

	cr_assert_eq(conf->listens[0].addr.ss_family, AF_INET6);
	cr_assert_eq(conf->listens[0].addr_len, sizeof(struct sockaddr_in6));
	assert_address(&conf->listens[0].addr, "::1", 3478);
	conf_free(conf);
	assert_bad("listen", "udp://::1");
	assert_bad("listen", "udp://::1:3478");
}

Test(conf, listen_default_port_is_3478_and_5349_for_tls)
{
	struct conf *conf = parse_ok("listen = udp://192.0.2.1\n"
	                             "listen = tcp://[2001:db8::1]\n"
	                             "listen = tls://0.0.0.0\n"
	                             "tls-cert = /etc/c.pem\n"
	                             "tls-key = /etc/k.pem\n");

	cr_assert_eq(conf->listen_count, 3);
	assert_address(&conf->listens[0].addr, "192.0.2.1", 3478);
	cr_assert_eq(conf->listens[1].transport, CONF_TRANSPORT_TCP);
	assert_address(&conf->listens[1].addr, "2001:db8::1", 3478);
	cr_assert_eq(conf->listens[2].transport, CONF_TRANSPORT_TLS);
	assert_address(&conf->listens[2].addr, "0.0.0.0", 5349);
	conf_free(conf);
}

Test(conf, listen_replaces_the_default)
{
	struct conf *conf = parse_key("listen", "tcp://127.0.0.1:5000");

	cr_assert_eq(conf->listen_count, 1);
	cr_assert_eq(conf->listens[0].transport, CONF_TRANSPORT_TCP);
	conf_free(conf);
}

Test(conf, listen_rejects_what_is_not_scheme_address_port)
{
	static const char *const bad[] = {
	    "udp:/1.2.3.4",
	    "http://1.2.3.4",
	    "UDP://1.2.3.4",
	    "udp://",
	    "udp://[::1",
	    "udp://[::1]x",
	    "udp://[::1]:",
	    "udp://1.2.3.4:",
	    "udp://1.2.3.4:0",
	    "udp://1.2.3.4:65536",
	    "udp://1.2.3.4:x",
	    "udp://host:3478",
	    "udp://[1.2.3.4]:5",
	    "udp://1.2.3:5",
	    "1.2.3.4:3478",
	    "udp://1.2.3.4:+5",
	    NULL,
	};

	assert_bad_values("listen", bad);
}

Test(conf, listen_twice_on_the_same_socket_is_an_error)
{
	assert_error("listen = udp://192.0.2.1\n"
	             "listen = udp://192.0.2.1:3478\n",
	             "t.conf:2: listen 'udp://192.0.2.1:3478': the same socket "
	             "as on line 1");
	/* TLS runs over TCP: one port cannot take both. */
	assert_error("listen = tcp://192.0.2.1:443\n"
	             "listen = tls://192.0.2.1:443\n",
	             "t.conf:2: listen 'tls://192.0.2.1:443': the same socket "
	             "as on line 1");
}

Test(conf, listen_udp_and_tcp_may_share_a_port)
{
	struct conf *conf = parse_ok("listen = udp://192.0.2.1\n"
	                             "listen = tcp://192.0.2.1\n");

	cr_assert_eq(conf->listen_count, 2);
	conf_free(conf);
}

Test(conf, listen_tls_needs_tls_cert_and_tls_key)
{
	assert_error("realm = a\nlisten = tls://0.0.0.0\n",
	             "t.conf:2: listen: a tls:// listener needs tls-cert and "
	             "tls-key");
	assert_error("listen = tls://0.0.0.0\ntls-cert = /c.pem\n",
	             "t.conf:1: listen: a tls:// listener needs tls-cert and "
	             "tls-key");
}

/* --- relay-address, external-address, relay-ports ---------------------- */

Test(conf, relay_address_takes_one_address_per_family)
{
	struct conf *conf = parse_ok("relay-address = 192.0.2.10\n"
	                             "relay-address = 2001:db8::10\n");

	cr_assert(conf->has_relay_v4 && conf->has_relay_v6);
	assert_address(&conf->relay_v4, "192.0.2.10", 0);
	assert_address(&conf->relay_v6, "2001:db8::10", 0);
	conf_free(conf);
	conf = parse_key("relay-address", "[2001:db8::11]");
	cr_assert(!conf->has_relay_v4 && conf->has_relay_v6);
	conf_free(conf);
}

Test(conf, relay_address_second_of_a_family_is_an_error)
{
	assert_error("relay-address = 192.0.2.10\n"
	             "relay-address = 192.0.2.11\n",
	             "t.conf:2: relay-address '192.0.2.11': a second IPv4 "
	             "address (the first is on line 1); give one per family");
}

Test(conf, relay_address_must_be_unicast)
{
	static const char *const bad[] = {
	    "0.0.0.0",     "::",         "224.0.0.1", "ff02::1", "1.2.3.4:5",
	    "example.org", "10.0.0.0/8", "[1.2.3.4]", "1.2.3",   NULL,
	};

	assert_bad_values("relay-address", bad);
}

Test(conf, external_address_takes_one_address_per_family)
{
	struct conf *conf = parse_ok("relay-address = 10.0.0.7\n"
	                             "relay-address = fd00::7\n"
	                             "external-address = 198.51.100.7\n"
	                             "external-address = 2001:db8::7\n");

	cr_assert(conf->has_external_v4 && conf->has_external_v6);
	assert_address(&conf->external_v4, "198.51.100.7", 0);
	assert_address(&conf->external_v6, "2001:db8::7", 0);
	conf_free(conf);
	assert_error("external-address = 2001:db8::7\n"
	             "external-address = 2001:db8::8\n",
	             "t.conf:2: external-address '2001:db8::8': a second IPv6 "
	             "address (the first is on line 1); give one per family");
	assert_bad("external-address", "0.0.0.0");
}

Test(conf, external_address_needs_a_relay_address_of_its_family)
{
	assert_error("relay-address = 10.0.0.7\n"
	             "external-address = 198.51.100.7\n"
	             "external-address = 2001:db8::7\n",
	             "t.conf:3: external-address: no IPv6 relay-address for it "
	             "to stand for");
	assert_error("external-address = 198.51.100.7\n",
	             "t.conf:1: external-address: no IPv4 relay-address for it "
	             "to stand for");
}

Test(conf, relay_ports_is_min_dash_max)
{
	struct conf *conf = parse_key("relay-ports", "1024-65535");

	cr_assert_eq(conf->relay_port_min, 1024);
	cr_assert_eq(conf->relay_port_max, 65535);
	conf_free(conf);
	conf = parse_key("relay-ports", "50000 - 50000");
	cr_assert_eq(conf->relay_port_min, 50000);
	cr_assert_eq(conf->relay_port_max, 50000);
	conf_free(conf);
}

Test(conf, relay_ports_rejects_privileged_reversed_and_malformed)
{
	static const char *const bad[] = {
	    "80-90",      "1023-2000",  "5000-4000", "5000",
	    "5000-70000", "a-b",        "-5000",     "5000-",
	    "0-0",        "1024-65536", "1e3-2e3",   "50000-60000-65000",
	    NULL,
	};

	assert_bad_values("relay-ports", bad);
}
