/*
 * fsx: file operations for the shell tests, reporting errno by name so that
 * a test can assert the exact errno a write or read failed with.
 *   fsx write FILE DATA       one write(2) of DATA, then close(2); prints OK or
 *                             the errno name of whichever failed
 *   fsx writeread FILE DATA   write, then read the reply on the same descriptor
 *   fsx read FILE             read all; prints the content or the errno name
 *   fsx readnb FILE           the same with O_NONBLOCK
 *   fsx poll FILE             read once, then block in poll(2) until the file
 *                             reports a change; prints the events
 *   fsx open FILE MODE        open with r, w or rw; prints OK or the errno name
 *   fsx copy SRC FILE         write all of SRC with one write(2) (the kernel
 *                             splits what is over max_write)
 * poll says "armed" on stderr once it has read, so a test can change the
 * file only after that and never race the first read.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int report(int err)
{
	printf("%s\n", err ? strerrorname_np(err) : "OK");
	return 0;
}

static int dump(int fd)
{
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	if (n < 0)
		return report(errno);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: fsx write|writeread|read|readnb|poll|open FILE [DATA|MODE]\n");
		return 2;
	}
	const char *cmd = argv[1], *path = argv[2];
	if (!strcmp(cmd, "write") || !strcmp(cmd, "writeread")) {
		if (argc < 4)
			return 2;
		int fd = open(path, !strcmp(cmd, "write") ? O_WRONLY | O_TRUNC : O_RDWR);
		if (fd < 0)
			return report(errno);
		ssize_t n = write(fd, argv[3], strlen(argv[3]));
		if (n < 0) {
			report(errno);
			close(fd);
		} else if (!strcmp(cmd, "writeread")) {
			dump(fd);
			close(fd);
		} else {
			/* a document unfinished at the write is applied (or refused) at close */
			report(close(fd) < 0 ? errno : 0);
		}
		return 0;
	}
	if (!strcmp(cmd, "read") || !strcmp(cmd, "readnb")) {
		int fd = open(path, O_RDONLY | (!strcmp(cmd, "readnb") ? O_NONBLOCK : 0));
		if (fd < 0)
			return report(errno);
		dump(fd);
		close(fd);
		return 0;
	}
	if (!strcmp(cmd, "poll")) {
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			return report(errno);
		char buf[4096];
		while (read(fd, buf, sizeof buf) > 0)
			;
		fprintf(stderr, "armed\n");
		struct pollfd p = { .fd = fd, .events = POLLIN | POLLPRI };
		if (poll(&p, 1, -1) < 0)
			return report(errno);
		printf("%s%s\n", p.revents & POLLIN ? "POLLIN" : "", p.revents & POLLPRI ? " POLLPRI" : "");
		close(fd);
		return 0;
	}
	if (!strcmp(cmd, "copy") && argc == 4) {
		FILE *src = fopen(path, "rb");
		if (!src)
			return report(errno);
		static char data[8 << 20];
		size_t len = fread(data, 1, sizeof data, src);
		fclose(src);
		int fd = open(argv[3], O_WRONLY | O_TRUNC);
		if (fd < 0)
			return report(errno);
		/* like cat: a short count means "write the rest again" */
		int err = 0;
		for (size_t done = 0; done < len && !err;) {
			ssize_t n = write(fd, data + done, len - done);
			if (n < 0)
				err = errno;
			else
				done += (size_t)n;
		}
		if (close(fd) < 0 && !err)
			err = errno;
		return report(err);
	}
	if (!strcmp(cmd, "open") && argc == 4) {
		int mode = !strcmp(argv[3], "r") ? O_RDONLY : !strcmp(argv[3], "w") ? O_WRONLY : O_RDWR;
		int fd = open(path, mode);
		if (fd < 0)
			return report(errno);
		close(fd);
		return report(0);
	}
	return 2;
}
