/*
 * The pid file: turnpikectl and init scripts find the master through it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "turnpike/log.h"
#include "master_private.h"

int master_write_pid_file(const char *path)
{
	char text[32];
	int fd, len, err = 0;

	if (path == NULL)
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno;
	len = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	if (write(fd, text, (size_t)len) != len)
		err = errno != 0 ? errno : EIO;
	close(fd);
	return err;
}

void master_remove_pid_file(const char *path)
{
	if (path != NULL && unlink(path) != 0 && errno != ENOENT)
		log_warn("%s: cannot remove %s", __func__, path);
}
