/*
 * The pid file: turnpikectl and init scripts find the master through it,
 * and its lock keeps a second turnpiked of the same configuration out.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "turnpike/log.h"
#include "master_private.h"

/* The pid the holder wrote, for the message; 0 when unreadable. */
static long holder_pid(int fd)
{
	char text[32];
	ssize_t len = pread(fd, text, sizeof(text) - 1, 0);

	if (len <= 0)
		return 0;
	text[len] = '\0';
	return strtol(text, NULL, 10);
}

static int write_pid(int fd)
{
	char text[32];
	int len = snprintf(text, sizeof(text), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) != 0)
		return errno;
	if (pwrite(fd, text, (size_t)len, 0) != len)
		return errno != 0 ? errno : EIO;
	return 0;
}

int master_lock_pid_file(const char *path, int *fd_out)
{
	int fd, err;

	*fd_out = -1;
	if (path == NULL)
		return 0;
	/* Not O_TRUNC: the file may be the running master's. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = errno;
		log_msg(LOG_ERR, "pid-file open failed path=%s error=%s",
		        LOG_QUOTED(path), LOG_QUOTED(strerror(err)));
		return err;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		err = errno;
		if (err == EWOULDBLOCK)
			log_msg(LOG_ERR,
			        "pid-file locked path=%s holder=%ld "
			        "reason=\"another turnpiked runs with this "
			        "pid-file\"",
			        LOG_QUOTED(path), holder_pid(fd));
		else
			log_msg(LOG_ERR,
			        "pid-file lock failed path=%s error=%s",
			        LOG_QUOTED(path), LOG_QUOTED(strerror(err)));
		close(fd);
		return err;
	}
	if ((err = write_pid(fd)) != 0) {
		log_msg(LOG_ERR, "pid-file write failed path=%s error=%s",
		        LOG_QUOTED(path), LOG_QUOTED(strerror(err)));
		close(fd);
		return err;
	}
	*fd_out = fd;
	return 0;
}

void master_remove_pid_file(const char *path, int fd)
{
	/* Unlinked while still locked, so that a new turnpiked cannot lock
	 * the old file just before it disappears. */
	if (path != NULL && unlink(path) != 0 && errno != ENOENT)
		log_warn("pid-file remove failed path=%s", LOG_QUOTED(path));
	if (fd >= 0)
		close(fd);
}
