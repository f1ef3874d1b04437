/*
 * Payload codecs: the key-file codec round-trips a payload exactly (numbers
 * too), refuses a key it lacks, a tampered payload and a bad key file;
 * commands get exactly their payloads encoded, without touching what they
 * share with the history; decoding finds encoded payloads at any depth.
 */
#include "check.h"
#include "codec.h"
#include "json_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define K1 "k1 N8m26aduNEo/CGFz/2KQoDvJvJI008GqoiD730PqtDw=\n"
#define K2 "k2 3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"

static char dir[] = "/tmp/unit_codec.XXXXXX";

static const char *key_file(const char *name, const char *text, mode_t mode)
{
	static char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");   /* NULL for a path in no folder: the load then fails */
	if (f) {
		fputs(text, f);
		fclose(f);
		chmod(path, mode);
	}
	return path;
}

static int load(durable__codecs_t *c, const char *name, const char *text, mode_t mode, char *err, size_t n)
{
	durable_codec_t codec;
	int rc = durable_codec_key_file(key_file(name, text, mode), &codec, err, n);
	return rc < 0 ? rc : durable__codecs_add(c, &codec);
}

static char *text_of(json_t *v)
{
	char *s = v ? durable__json_text(v) : NULL;
	json_decref(v);
	return s ? s : strdup("(null)");
}

static void round_trip(void)
{
	char err[512] = "";
	durable__codecs_t c = {0};
	CHECK(load(&c, "one", "# keys\n" K1, 0600, err, sizeof(err)) == 0, "%s", err);
	json_t *v = json_loads("{\"price\": 0.1, \"big\": 9007199254740993, \"s\": \"secret\"}", 0, NULL);
	json_t *e = durable__encode(&c, v, err, sizeof(err));
	char *et = e ? durable__json_text(e) : NULL;
	CHECK(et && strstr(et, "\"_durable_codec\":\"xchacha20poly1305\",\"key\":\"k1\""), "%s", et ? et : err);
	CHECK(et && !strstr(et, "secret"), "the plaintext shows: %s", et);
	char *back = text_of(durable__decode(&c, e, err, sizeof(err)));
	CHECK(strcmp(back, "{\"price\":0.1,\"big\":9007199254740993,\"s\":\"secret\"}") == 0, "%s (%s)", back, err);
	free(back);
	/* altered data: the tag fails */
	json_t *bad = json_copy(e);
	const char *d = json_string_value(json_object_get(bad, "data"));
	char *flipped = strdup(d);
	flipped[30] = flipped[30] == 'A' ? 'B' : 'A';
	json_object_set_new(bad, "data", json_string(flipped));
	CHECK(durable__decode(&c, bad, err, sizeof(err)) == NULL && strstr(err, "does not decrypt"), "%s", err);
	/* the key id is authenticated: relabelled, it fails too */
	durable__codecs_t c2 = {0};
	CHECK(load(&c2, "two", K1 K2, 0600, err, sizeof(err)) == 0, "%s", err);
	json_object_set_new(bad, "data", json_string(d));
	json_object_set_new(bad, "key", json_string("k2"));
	CHECK(durable__decode(&c2, bad, err, sizeof(err)) == NULL && strstr(err, "does not decrypt"), "%s", err);
	/* rotation: the last key encodes, both decode */
	json_t *e2 = durable__encode(&c2, v, err, sizeof(err));
	CHECK(e2 && strcmp(json_string_value(json_object_get(e2, "key")), "k2") == 0, "encoded with the last key");
	back = text_of(durable__decode(&c2, e, err, sizeof(err)));
	CHECK(strstr(back, "secret") != NULL, "k1's payload decodes with a file of k1 and k2: %s", back);
	free(back);
	CHECK(durable__decode(&c, e2, err, sizeof(err)) == NULL && strstr(err, "key \"k2\""),
	      "a file without k2 names it: %s", err);
	/* no codec at all */
	durable__codecs_t none = {0};
	CHECK(durable__decode(&none, e, err, sizeof(err)) == NULL && strstr(err, "codec \"xchacha20poly1305\""),
	      "%s", err);
	json_t *same = durable__encode(&none, v, err, sizeof(err));
	CHECK(same == v, "without a codec a payload goes as it is");
	json_decref(same);
	free(flipped);
	free(et);
	json_decref(bad);
	json_decref(e);
	json_decref(e2);
	json_decref(v);
	durable__codecs_free(&c);
	durable__codecs_free(&c2);
}

static void bad_key_files(void)
{
	char err[512] = "";
	durable__codecs_t c = {0};
	CHECK(load(&c, "open", K1, 0644, err, sizeof(err)) < 0 && strstr(err, "chmod 600"), "%s", err);
	CHECK(load(&c, "short", "k1 AAAA\n", 0600, err, sizeof(err)) < 0 && strstr(err, "line 1"), "%s", err);
	CHECK(load(&c, "twice", K1 K1, 0600, err, sizeof(err)) < 0 && strstr(err, "twice"), "%s", err);
	CHECK(load(&c, "empty", "# nothing\n", 0600, err, sizeof(err)) < 0 && strstr(err, "no keys"), "%s", err);
	CHECK(load(&c, "badid", "k/1 N8m26aduNEo/CGFz/2KQoDvJvJI008GqoiD730PqtDw=\n", 0600, err, sizeof(err)) < 0,
	      "a key id with '/' is refused");
	CHECK(load(&c, "missing/none", "", 0600, err, sizeof(err)) < 0, "a missing file is refused");
	CHECK(c.n == 0, "and none was added");
	durable__codecs_free(&c);
}

static void commands_and_histories(void)
{
	char err[512] = "";
	durable__codecs_t c = {0};
	CHECK(load(&c, "cmds", K1, 0600, err, sizeof(err)) == 0, "%s", err);
	json_t *shared = json_pack("{s:s}", "s", "secret");
	json_t *cmds = json_pack(
		"[{s:s, s:s, s:O}, {s:s, s:s, s:f}, {s:s, s:s, s:{s:O, s:i}}, {s:s, s:{s:s, s:s, s:O}},"
		" {s:s, s:{s:O}}]",
		"type", "ScheduleActivityTask", "activity_type", "a", "input", shared,
		"type", "StartTimer", "timer_id", "t", "start_to_fire_timeout", 1.5,
		"type", "RecordMarker", "marker_name", "SideEffect", "details", "value", shared, "n", 7,
		"type", "FailWorkflowExecution", "failure", "message", "boom", "type", "Oops", "details", shared,
		"type", "UpsertWorkflowSearchAttributes", "search_attributes", "k", shared);
	char *before = durable__json_text(cmds);
	json_t *enc = durable__encode_commands(&c, cmds, err, sizeof(err));
	char *after = durable__json_text(cmds), *et = enc ? durable__json_text(enc) : NULL;
	CHECK(strcmp(before, after) == 0, "the commands given are unchanged: %s", after);
	CHECK(et != NULL, "%s", err);
	json_t *a = json_array_get(enc, 0), *m = json_object_get(json_array_get(enc, 2), "details"),
	       *f = json_object_get(json_array_get(enc, 3), "failure");
	CHECK(json_object_get(json_object_get(a, "input"), DURABLE_CODEC_FIELD), "activity input encoded");
	CHECK(json_object_get(json_object_get(m, "value"), DURABLE_CODEC_FIELD) &&
	      json_object_get(json_object_get(m, "n"), DURABLE_CODEC_FIELD), "each marker detail encoded");
	CHECK(strcmp(json_string_value(json_object_get(f, "message")), "boom") == 0 &&
	      strcmp(json_string_value(json_object_get(f, "type")), "Oops") == 0 &&
	      json_object_get(json_object_get(f, "details"), DURABLE_CODEC_FIELD),
	      "a failure keeps message and type, its details are encoded");
	CHECK(json_equal(json_array_get(enc, 1), json_array_get(cmds, 1)), "a timer has no payload");
	CHECK(json_equal(json_array_get(enc, 4), json_array_get(cmds, 4)), "search attributes stay readable");
	CHECK(json_object_size(shared) == 1 && !json_object_get(shared, DURABLE_CODEC_FIELD), "shared value untouched");
	/* decoding finds them at any depth, as a history holds them */
	json_t *hist = json_pack("[{s:s, s:{s:O}}, {s:s, s:O}]", "event_type", "E", "attributes", "cmds", enc,
				 "event_type", "F", "attributes", shared);
	char *dt = text_of(durable__decode(&c, hist, err, sizeof(err)));
	CHECK(strstr(dt, "secret") && !strstr(dt, DURABLE_CODEC_FIELD), "every payload decoded: %s", dt);
	char *ht = durable__json_text(hist);
	CHECK(strstr(ht, DURABLE_CODEC_FIELD) != NULL, "the history given is unchanged (still encoded)");
	free(ht);
	free(dt);
	free(before);
	free(after);
	free(et);
	json_decref(hist);
	json_decref(enc);
	json_decref(cmds);
	json_decref(shared);
	durable__codecs_free(&c);
}

static void bad_codecs(void)
{
	durable__codecs_t c = {0};
	durable_codec_t bad = {.name = "Not A Name"};
	CHECK(durable__codecs_add(&c, &bad) == -22, "a codec without functions or a good name is refused");
	CHECK(c.n == 0, "and not added");
	durable__codecs_free(&c);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	round_trip();
	bad_key_files();
	commands_and_histories();
	bad_codecs();
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return CHECK_DONE();
}
