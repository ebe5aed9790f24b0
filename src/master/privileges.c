/*
 * Dropping root: every socket of a reuseport group must be bound by the
 * same effective UID (DESIGN.md section 2), so the master becomes the
 * service user before it binds the listeners, keeping only
 * CAP_NET_BIND_SERVICE when a listener needs a port below 1024. Started
 * as the service user, it sheds every capability but that one.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "turnpike/log.h"
#include "turnpike/net.h"
#include "master_private.h"

#ifndef CAP_BPF
#define CAP_BPF 39 /* Linux 5.8 */
#endif

#define CAP_BIT(cap)   (1u << ((cap) % 32))
#define CAP_INDEX(cap) ((cap) / 32)

static int caps_get(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct header = {
	    .version = _LINUX_CAPABILITY_VERSION_3,
	    .pid = 0,
	};

	return syscall(SYS_capget, &header, data) == 0 ? 0 : errno;
}

static int caps_set(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct header = {
	    .version = _LINUX_CAPABILITY_VERSION_3,
	    .pid = 0,
	};

	return syscall(SYS_capset, &header, data) == 0 ? 0 : errno;
}

/* What the master keeps: CAP_NET_BIND_SERVICE effective when asked, and
 * CAP_BPF permitted but not effective when asked (raised only around
 * the steering map updates, master_bpf_capability). */
static void caps_keep(struct __user_cap_data_struct data[2], bool bind,
                      bool bpf)
{
	memset(data, 0, 2 * sizeof(*data));
	if (bind)
		data[0].permitted = data[0].effective =
		    CAP_BIT(CAP_NET_BIND_SERVICE);
	if (bpf)
		data[CAP_INDEX(CAP_BPF)].permitted |= CAP_BIT(CAP_BPF);
}

int master_bpf_capability(bool raise)
{
	struct __user_cap_data_struct data[2];
	int err = caps_get(data);

	if (err != 0 ||
	    (data[CAP_INDEX(CAP_BPF)].permitted & CAP_BIT(CAP_BPF)) == 0)
		return err;
	if (raise)
		data[CAP_INDEX(CAP_BPF)].effective |= CAP_BIT(CAP_BPF);
	else
		data[CAP_INDEX(CAP_BPF)].effective &= ~CAP_BIT(CAP_BPF);
	return caps_set(data);
}

int master_forget_bpf_capability(void)
{
	struct __user_cap_data_struct data[2];
	int err = caps_get(data);

	/* Root keeps what it has: it needs no capability set. */
	if (err != 0 || geteuid() == 0 ||
	    (data[CAP_INDEX(CAP_BPF)].permitted & CAP_BIT(CAP_BPF)) == 0)
		return err;
	data[CAP_INDEX(CAP_BPF)].permitted &= ~CAP_BIT(CAP_BPF);
	data[CAP_INDEX(CAP_BPF)].effective &= ~CAP_BIT(CAP_BPF);
	data[CAP_INDEX(CAP_BPF)].inheritable &= ~CAP_BIT(CAP_BPF);
	return caps_set(data);
}

static bool needs_privileged_port(const struct conf *conf)
{
	size_t i;

	for (i = 0; i < conf->listen_count; i++) {
		if (net_addr_port(
		        (const struct sockaddr *)&conf->listens[i].addr) < 1024)
			return true;
	}
	return false;
}

/* Started as the service user with capabilities (the systemd unit gives
 * CAP_BPF for the steering programs, listeners.c): once they are loaded,
 * keep CAP_NET_BIND_SERVICE if held and CAP_BPF (not effective) if
 * asked, and nothing else, in the master and so in every worker. */
static int shed_capabilities(bool keep_bpf)
{
	struct __user_cap_data_struct data[2], kept[2];
	bool bind, bpf;
	int err = caps_get(data);

	if (err != 0)
		return err;
	bind = (data[0].permitted & CAP_BIT(CAP_NET_BIND_SERVICE)) != 0;
	bpf = keep_bpf &&
	      (data[CAP_INDEX(CAP_BPF)].permitted & CAP_BIT(CAP_BPF)) != 0;
	caps_keep(kept, bind, bpf);
	if (memcmp(kept, data, sizeof(kept)) == 0)
		return 0;
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if ((err = caps_set(kept)) != 0)
		return err;
	log_info("capabilities dropped keep=%s%s",
	         bind ? "CAP_NET_BIND_SERVICE" : "none",
	         bpf ? ",CAP_BPF(permitted)" : "");
	return 0;
}

/* The state directory was made by root; the workers write to it. Both
 * environments of the store (turnpike/store.h): the live one in the
 * directory, the durable one below it. */
static void give_state_dir(const struct conf *conf, uid_t uid, gid_t gid)
{
	static const char *const files[] = {
	    "",         "/data.mdb",         "/lock.mdb",
	    "/durable", "/durable/data.mdb", "/durable/lock.mdb"};
	char path[4096];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", conf->state_dir, files[i]);
		/* Not through a link the service user may have planted
		 * (store.c refuses to open those). */
		if (fchownat(AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW) !=
		        0 &&
		    errno != ENOENT)
			log_warn("state-dir chown failed path=%s",
			         LOG_QUOTED(path));
	}
}

int master_drop_privileges(const struct conf *conf, bool keep_bpf)
{
	bool keep = needs_privileged_port(conf);
	struct __user_cap_data_struct kept[2];
	struct passwd *pw;

	if (geteuid() != 0)
		return shed_capabilities(keep_bpf);
	if (conf->run_user == NULL)
		return 0;
	pw = getpwnam(conf->run_user);
	if (pw == NULL) {
		log_msg(LOG_ERR, "user-name unknown name=%s",
		        LOG_QUOTED(conf->run_user));
		return ENOENT;
	}
	give_state_dir(conf, pw->pw_uid, pw->pw_gid);
	if ((keep || keep_bpf) && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
		return errno;
	if (setgroups(1, &pw->pw_gid) != 0 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0) {
		log_warn("privileges drop failed user=%s",
		         LOG_QUOTED(conf->run_user));
		return EPERM;
	}
	caps_keep(kept, keep, keep_bpf);
	if ((keep || keep_bpf) && caps_set(kept) != 0) {
		log_warn("privileges drop failed "
		         "keep=CAP_NET_BIND_SERVICE");
		return EPERM;
	}
	log_info("privileges dropped user=%s uid=%ld keep=%s%s",
	         LOG_QUOTED(conf->run_user), (long)pw->pw_uid,
	         keep ? "CAP_NET_BIND_SERVICE" : "none",
	         keep_bpf ? ",CAP_BPF(permitted)" : "");
	return 0;
}
