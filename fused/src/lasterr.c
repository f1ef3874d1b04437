/* The reason for the last refused write of each folder, for `cat last-error`. */
#define _POSIX_C_SOURCE 200809L
#include "callers.h"
#include "fs.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ENTRIES 1024 /* a bounded ring: the oldest reasons are dropped */

struct entry {
	char *key;
	char *text;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry ring[MAX_ENTRIES];
static int next_slot;

void lasterr_set(const char *folder_key, const char *what, int err, const char *msg)
{
	struct buf b = { 0 };
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	buf_printf(&b, "%s %s: %s: %s\n", when, what, strerror(err), msg);
	logmsg("refused %s: %s: %s", what, strerror(err), msg);
	char key[512]; /* each caller reads only its own reasons */
	snprintf(key, sizeof key, "%s%s", callers_scope(), folder_key);
	folder_key = key;
	pthread_mutex_lock(&lock);
	int slot = -1;
	for (int i = 0; i < MAX_ENTRIES; i++)
		if (ring[i].key && strcmp(ring[i].key, folder_key) == 0)
			slot = i;
	if (slot < 0) {
		slot = next_slot;
		next_slot = (next_slot + 1) % MAX_ENTRIES;
		free(ring[slot].key);
		ring[slot].key = strdup(folder_key);
	}
	free(ring[slot].text);
	ring[slot].text = b.data;
	pthread_mutex_unlock(&lock);
}

int lasterr_get(const char *folder_key, struct buf *out)
{
	int rc = 0;
	char key[512];
	snprintf(key, sizeof key, "%s%s", callers_scope(), folder_key);
	folder_key = key;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < MAX_ENTRIES; i++)
		if (ring[i].key && strcmp(ring[i].key, folder_key) == 0 && ring[i].text)
			rc = buf_puts(out, ring[i].text);
	pthread_mutex_unlock(&lock);
	return rc;
}

void lasterr_shutdown(void)
{
	pthread_mutex_lock(&lock);
	for (int i = 0; i < MAX_ENTRIES; i++) {
		free(ring[i].key);
		free(ring[i].text);
		ring[i].key = ring[i].text = NULL;
	}
	pthread_mutex_unlock(&lock);
}
