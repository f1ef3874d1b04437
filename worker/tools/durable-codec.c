/* durable-codec: the payload codec for operators, on stdin and stdout, so
 * that what goes into the store by hand (a start's input, a signal, an
 * update, a task result written through the mount) is encoded as workers
 * encode it, and what comes out (a result, a history) can be read. */
#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "codec.h"
#include "json_text.h"

#define INPUT_MAX (64 * 1024 * 1024)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: durable-codec encode --codec-key FILE      < value    > encoded payload\n"
		"       durable-codec decode [--codec-key FILE] [--lines] < document > document\n"
		"       durable-codec keygen KEY_ID                 >> FILE   (then chmod 600 FILE)\n"
		"encode: reads one JSON value and writes it encoded with the file's last key.\n"
		"decode: reads one JSON document (with --lines: one per line, as a history file) and\n"
		"writes it with every encoded payload in it decoded, with any key of the file.\n"
		"keygen: prints a new key line; append it to the key file to encode with it from now on.\n"
		"Exit status: 0, 1 on bad input or a payload that does not decode, 2 on bad usage.\n");
}

static int fail(const char *fmt, const char *what)
{
	fprintf(stderr, "durable-codec: ");
	fprintf(stderr, fmt, what);
	fputc('\n', stderr);
	return 1;
}

static char *read_all(FILE *f, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		n += fread(buf + n, 1, cap - n - 1, f);
		if (n < cap - 1 || cap > INPUT_MAX)
			break;
		char *more = realloc(buf, cap *= 2);
		if (!more)
			free(buf);
		buf = more;
	}
	if (buf && (ferror(f) || n >= INPUT_MAX)) {
		free(buf);
		return NULL;
	}
	if (buf)
		buf[n] = '\0';
	*len = n;
	return buf;
}

/* Encodes or decodes one JSON text, printing the result and a newline. */
static int convert(const durable__codecs_t *c, int encode, const char *text, size_t len, long lineno)
{
	json_error_t jerr;
	char err[600], where[64] = "";
	if (lineno > 0)
		snprintf(where, sizeof(where), "line %ld: ", lineno);
	json_t *in = durable__json_load(text, len, JSON_DECODE_ANY, &jerr);
	if (!in) {
		fprintf(stderr, "durable-codec: %sinput is not JSON: %s\n", where, jerr.text);
		return 1;
	}
	json_t *out = encode ? durable__encode(c, in, err, sizeof(err)) : durable__decode(c, in, err, sizeof(err));
	json_decref(in);
	char *s = out ? durable__json_text(out) : NULL;
	json_decref(out);
	if (!s) {
		fprintf(stderr, "durable-codec: %s%s\n", where, out ? "out of memory" : err);
		return 1;
	}
	puts(s);
	free(s);
	return 0;
}

static int keygen(const char *id)
{
	unsigned char key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
	char b64[sodium_base64_ENCODED_LEN(sizeof(key), sodium_base64_VARIANT_ORIGINAL)];
	size_t n = strlen(id);
	if (n == 0 || n > 64 || strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != n)
		return fail("key id \"%s\" must be 1 to 64 letters, digits, '.', '_' or '-'", id);
	if (sodium_init() < 0)
		return fail("%s", "libsodium could not initialise");
	crypto_aead_xchacha20poly1305_ietf_keygen(key);
	sodium_bin2base64(b64, sizeof(b64), key, sizeof(key), sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(key, sizeof(key));
	printf("%s %s\n", id, b64);
	sodium_memzero(b64, sizeof(b64));
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {{"codec-key", required_argument, NULL, 'k'},
						 {"lines", no_argument, NULL, 'l'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	const char *key_file = NULL;
	int lines = 0, c;
	while ((c = getopt_long(argc, argv, "k:lh", longopts, NULL)) != -1) {
		switch (c) {
		case 'k': key_file = optarg; break;
		case 'l': lines = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	const char *verb = optind < argc ? argv[optind] : "";
	if (strcmp(verb, "keygen") == 0 && optind + 2 == argc && !key_file && !lines)
		return keygen(argv[optind + 1]);
	int encode = strcmp(verb, "encode") == 0;
	if ((!encode && strcmp(verb, "decode") != 0) || optind + 1 != argc || (encode && (!key_file || lines))) {
		usage(stderr);
		return 2;
	}
	durable__codecs_t codecs = {0};
	if (key_file) {
		char err[512];
		durable_codec_t codec;
		if (durable_codec_key_file(key_file, &codec, err, sizeof(err)) < 0 ||
		    durable__codecs_add(&codecs, &codec) < 0)
			return fail("%s", err);
	}
	size_t len;
	char *text = read_all(stdin, &len);
	int rc = 0;
	if (!text) {
		rc = fail("%s", "cannot read standard input (at most 64 MiB)");
	} else if (!lines) {
		rc = convert(&codecs, encode, text, len, 0);
	} else {
		long lineno = 0;
		for (char *line = text, *next; *line && rc == 0; line = next) {
			next = strchr(line, '\n');
			next = next ? next + 1 : line + strlen(line);
			lineno++;
			if (strspn(line, " \t\r\n") < (size_t)(next - line))
				rc = convert(&codecs, 0, line, (size_t)(next - line), lineno);
		}
	}
	free(text);
	durable__codecs_free(&codecs);
	return rc;
}
