/*
 * users and quota: the store's durable tables. Passwords are asked on the
 * terminal without echo (twice), or read as one line from standard input
 * when it is not a terminal; only the long-term keys are stored (RFC 8489
 * §9.2.2), made with the configured realm. The workers read both tables
 * at each request, so changes take effect without a reload.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "turnpike/stun.h"
#include "ctl.h"

/* Longer is a mistake, not a password. */
#define PASSWORD_MAX 1024
/* RFC 8489 §14.3: a USERNAME is fewer than 509 bytes. */
#define USER_NAME_MAX 508

/* Set by a signal while the terminal does not echo: the one mutable
 * global, so that the terminal is restored before exiting. */
static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
	interrupted = sig;
}

/* ---- passwords ------------------------------------------------------- */

/* One line without its end; ENOENT at end of file, EMSGSIZE when too
 * long, EINTR when interrupted, EIO on a read error. */
static int read_line(FILE *in, char *buf, size_t size)
{
	size_t len;

	if (fgets(buf, (int)size, in) == NULL)
		return interrupted ? EINTR : ferror(in) ? EIO : ENOENT;
	len = strlen(buf);
	if (len == size - 1 && buf[len - 1] != '\n')
		return EMSGSIZE;
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

static int read_quietly(const char *prompt, char *buf, size_t size)
{
	struct sigaction sa, saved_int, saved_term, saved_hup;
	struct termios saved, quiet;
	int err;

	if (tcgetattr(STDIN_FILENO, &saved) != 0)
		return errno;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt; /* no SA_RESTART: fgets returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &saved_int);
	sigaction(SIGTERM, &sa, &saved_term);
	sigaction(SIGHUP, &sa, &saved_hup);
	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	fputs(prompt, stderr);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0)
		err = errno;
	else
		err = read_line(stdin, buf, size);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
	fputc('\n', stderr);
	sigaction(SIGINT, &saved_int, NULL);
	sigaction(SIGTERM, &saved_term, NULL);
	sigaction(SIGHUP, &saved_hup, NULL);
	return err;
}

static int password_error(int err)
{
	switch (err) {
	case ENOENT:
		return ctl_error("no password given");
	case EMSGSIZE:
		return ctl_error("password longer than %d bytes", PASSWORD_MAX);
	case EINTR:
		return ctl_error("interrupted");
	default:
		return ctl_error("reading the password: %s", strerror(err));
	}
}

/* Into buf (PASSWORD_MAX + 2 bytes). */
static int ask_password(char *buf, size_t size)
{
	char again[PASSWORD_MAX + 2];
	int err;

	if (!isatty(STDIN_FILENO))
		err = read_line(stdin, buf, size);
	else if ((err = read_quietly("Password: ", buf, size)) == 0)
		err = read_quietly("Password again: ", again, sizeof(again));
	if (err == 0 && isatty(STDIN_FILENO) && strcmp(buf, again) != 0)
		err = EAGAIN;
	OPENSSL_cleanse(again, sizeof(again));
	if (err == EAGAIN)
		return ctl_error("the passwords differ");
	if (err != 0)
		return password_error(err);
	if (buf[0] == '\0')
		return ctl_error("empty password");
	return CTL_EXIT_OK;
}

/* RFC 8489 §9.2.2: MD5 and SHA-256 of "name:realm:password". */
static int make_keys(const struct ctl *ctl, const char *password,
                     struct store_user *user)
{
	const char *realm = ctl->conf->realm;
	int err;

	if (strlen(realm) >= sizeof(user->realm))
		return ctl_error("realm longer than %zu bytes",
		                 sizeof(user->realm) - 1);
	strcpy(user->realm, realm);
	err = stun_long_term_keys(user->name, realm, password, user->key_md5,
	                          user->key_sha256);
	if (err != 0)
		return ctl_error("computing the keys: %s", strerror(err));
	return CTL_EXIT_OK;
}

/* ---- users ----------------------------------------------------------- */

/* UTF-8 (RFC 8489 §14.3), printable, and short enough for a USERNAME
 * and a store key. */
static int check_name(const char *name)
{
	size_t len = strlen(name), i;

	if (len == 0 || len > USER_NAME_MAX)
		return ctl_error("a user name has 1 to %d bytes",
		                 USER_NAME_MAX);
	if (!ctl_utf8_valid(name))
		return ctl_error("a user name is UTF-8");
	for (i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return ctl_error("a user name has no control "
			                 "characters");
	return CTL_EXIT_OK;
}

static bool is_static_user(const struct conf *conf, const char *name)
{
	size_t i;

	for (i = 0; i < conf->user_count; i++)
		if (strcmp(conf->users[i].name, name) == 0)
			return true;
	return false;
}

static int user_exists(struct store *store, const char *name, bool *exists)
{
	struct store_user user;
	int err = store_user_get(store, name, &user);

	OPENSSL_cleanse(&user, sizeof(user));
	*exists = err == 0;
	if (err == 0 || err == ENOENT)
		return CTL_EXIT_OK;
	return ctl_error("user %s: %s", name, store_strerror(err));
}

/* add (must be new) and passwd (must exist). */
static int set_password(const struct ctl *ctl, struct store *store,
                        const char *name, bool adding)
{
	char password[PASSWORD_MAX + 2];
	struct store_user user;
	bool exists;
	int rc, err;

	if ((rc = user_exists(store, name, &exists)) != CTL_EXIT_OK)
		return rc;
	if (adding && exists)
		return ctl_error("user %s exists; 'users passwd %s' changes "
		                 "the password",
		                 name, name);
	if (!adding && !exists)
		return ctl_error("no user %s in %s", name, ctl->state_dir);
	memset(&user, 0, sizeof(user));
	strcpy(user.name, name);
	rc = ask_password(password, sizeof(password));
	if (rc == CTL_EXIT_OK)
		rc = make_keys(ctl, password, &user);
	OPENSSL_cleanse(password, sizeof(password));
	if (rc == CTL_EXIT_OK && (err = store_user_put(store, &user)) != 0)
		rc = ctl_error("user %s: %s", name, store_strerror(err));
	OPENSSL_cleanse(&user, sizeof(user));
	if (rc != CTL_EXIT_OK)
		return rc;
	printf("user %s %s\n", name, adding ? "added" : "password changed");
	if (is_static_user(ctl->conf, name))
		fprintf(stderr,
		        "turnpikectl: warning: %s is also a user of %s, "
		        "which comes first\n",
		        name, ctl->config_path);
	return CTL_EXIT_OK;
}

static int delete_user(const struct ctl *ctl, struct store *store,
                       const char *name)
{
	int err = store_user_delete(store, name);

	if (err == ENOENT)
		return ctl_error("no user %s in %s", name, ctl->state_dir);
	if (err == EINVAL)
		return ctl_error("no user has an empty name or one longer than "
		                 "%d bytes",
		                 STORE_NAME_MAX - 2);
	if (err != 0)
		return ctl_error("user %s: %s", name, store_strerror(err));
	printf("user %s deleted\n", name);
	return CTL_EXIT_OK;
}

struct user_listing {
	const struct ctl *ctl;
	struct json json;
	size_t count;
};

static int list_user(const struct store_user *user, void *arg)
{
	struct user_listing *listing = arg;
	bool usable = strcmp(user->realm, listing->ctl->conf->realm) == 0;

	listing->count++;
	if (listing->ctl->json) {
		json_object_begin(&listing->json, NULL);
		json_string(&listing->json, "name", user->name);
		json_string(&listing->json, "realm", user->realm);
		json_bool(&listing->json, "usable", usable);
		json_object_end(&listing->json);
	} else if (usable) {
		printf("%s\n", user->name);
	} else {
		printf("%s (keys for realm %s, not %s: set the password "
		       "again)\n",
		       user->name, user->realm, listing->ctl->conf->realm);
	}
	return 0;
}

static int list_users(const struct ctl *ctl, struct store *store)
{
	struct user_listing listing = {.ctl = ctl};
	int err;

	json_init(&listing.json, stdout);
	if (ctl->json) {
		json_object_begin(&listing.json, NULL);
		json_array_begin(&listing.json, "users");
	}
	err = store_user_foreach(store, list_user, &listing);
	if (ctl->json) {
		json_array_end(&listing.json);
		json_uint(&listing.json, "count", listing.count);
		json_object_end(&listing.json);
		json_finish(&listing.json);
	}
	if (err != 0)
		return ctl_error("state directory %s: %s", ctl->state_dir,
		                 store_strerror(err));
	return CTL_EXIT_OK;
}

int ctl_cmd_users(struct ctl *ctl)
{
	const char *verb = ctl->arg_count > 1 ? ctl->args[1] : "";
	bool list = strcmp(verb, "list") == 0;
	struct store *store;
	int rc;

	if (list && ctl->arg_count != 2)
		return ctl_usage_error("users list takes no argument");
	if (!list && (strcmp(verb, "add") != 0 && strcmp(verb, "del") != 0 &&
	              strcmp(verb, "passwd") != 0))
		return ctl_usage_error("users wants add, del, list or passwd");
	if (!list && ctl->arg_count != 3)
		return ctl_usage_error("users %s wants one user name", verb);
	/* Any name may go, so that none is stuck in the database. */
	if (!list && strcmp(verb, "del") != 0 &&
	    (rc = check_name(ctl->args[2])) != CTL_EXIT_OK)
		return rc;
	rc = ctl_store_open(ctl, list ? STORE_READ_ONLY : 0, &store);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (list)
		rc = list_users(ctl, store);
	else if (strcmp(verb, "del") == 0)
		rc = delete_user(ctl, store, ctl->args[2]);
	else
		rc = set_password(ctl, store, ctl->args[2],
		                  strcmp(verb, "add") == 0);
	store_close(store);
	return rc;
}

/* ---- quota ----------------------------------------------------------- */

static int parse_quota(const char *text, uint32_t *quota)
{
	unsigned long long value;
	char *end;

	errno = 0;
	value = strtoull(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || text[0] == '-' ||
	    value > UINT32_MAX)
		return ctl_usage_error("a quota is 0 (unlimited) to %u, not "
		                       "'%s'",
		                       UINT32_MAX, text);
	*quota = (uint32_t)value;
	return CTL_EXIT_OK;
}

static int quota_error(const char *user, int err)
{
	if (err == EINVAL)
		return ctl_error("a quota key has 1 to %d bytes",
		                 STORE_QUOTA_KEY_MAX - 1);
	return ctl_error("quota of %s: %s", user, store_strerror(err));
}

static int quota_get(const struct ctl *ctl, struct store *store,
                     const char *user)
{
	uint32_t quota = 0, live = 0;
	struct json json;
	bool override;
	int err;

	err = store_quota_get(store, user, &quota);
	override = err == 0;
	if (err == ENOENT)
		quota = ctl->conf->user_quota;
	else if (err != 0)
		return quota_error(user, err);
	if ((err = store_allocation_count(store, user, &live)) != 0)
		return quota_error(user, err);
	if (ctl->json) {
		json_init(&json, stdout);
		json_object_begin(&json, NULL);
		json_string(&json, "user", user);
		json_uint(&json, "quota", quota);
		json_bool(&json, "unlimited", quota == 0);
		json_bool(&json, "override", override);
		json_uint(&json, "allocations", live);
		json_object_end(&json);
		json_finish(&json);
		return CTL_EXIT_OK;
	}
	if (quota == 0)
		printf("%s: unlimited", user);
	else
		printf("%s: %u", user, quota);
	printf(" (%s), %u allocation%s live\n",
	       override ? "override" : "user-quota of the configuration", live,
	       live == 1 ? "" : "s");
	return CTL_EXIT_OK;
}

static int quota_change(const struct ctl *ctl, struct store *store,
                        const char *user, const char *count)
{
	uint32_t quota = 0;
	int rc, err;

	if (count == NULL) {
		err = store_quota_delete(store, user);
		if (err == ENOENT)
			return ctl_error("no quota override for %s", user);
		if (err != 0)
			return quota_error(user, err);
		printf("%s: override deleted, user-quota %u applies\n", user,
		       ctl->conf->user_quota);
		return CTL_EXIT_OK;
	}
	if ((rc = parse_quota(count, &quota)) != CTL_EXIT_OK)
		return rc;
	if ((err = store_quota_set(store, user, quota)) != 0)
		return quota_error(user, err);
	if (quota == 0)
		printf("%s: unlimited\n", user);
	else
		printf("%s: %u\n", user, quota);
	return CTL_EXIT_OK;
}

int ctl_cmd_quota(struct ctl *ctl)
{
	const char *verb = ctl->arg_count > 1 ? ctl->args[1] : "";
	bool get = strcmp(verb, "get") == 0, set = strcmp(verb, "set") == 0;
	struct store *store;
	int rc;

	if (!get && !set && strcmp(verb, "del") != 0)
		return ctl_usage_error("quota wants get, set or del");
	if (set && ctl->arg_count != 4)
		return ctl_usage_error("quota set wants a user and a count");
	if (!set && ctl->arg_count != 3)
		return ctl_usage_error("quota %s wants a user", verb);
	rc = ctl_store_open(ctl, get ? STORE_READ_ONLY : 0, &store);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (get)
		rc = quota_get(ctl, store, ctl->args[2]);
	else
		rc = quota_change(ctl, store, ctl->args[2],
		                  set ? ctl->args[3] : NULL);
	store_close(store);
	return rc;
}
