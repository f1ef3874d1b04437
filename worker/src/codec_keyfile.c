/* The codec durable ships: XChaCha20-Poly1305 from libsodium, keys from a
 * file. Why not AES-256-GCM: libsodium offers it only on CPUs with AES-NI
 * (crypto_aead_aes256gcm_is_available), and its 96-bit nonces are unsafe to
 * pick at random past about 2^32 payloads per key; XChaCha20-Poly1305 runs
 * everywhere and takes 192-bit random nonces, so no counter has to be kept
 * across workers and restarts. The key id and codec name are authenticated
 * too (additional data), so a payload cannot be passed off under another
 * key's name.
 *   {"_durable_codec": "xchacha20poly1305", "key": "<id>",
 *    "data": "<base64 of nonce (24 bytes) || ciphertext || tag (16 bytes)>"}
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "durable.h"

#define CODEC_NAME "xchacha20poly1305"
#define KEY_ID_MAX 64
#define KEY_FILE_MAX (1 << 20)
#define NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG crypto_aead_xchacha20poly1305_ietf_ABYTES
#define KEYBYTES crypto_aead_xchacha20poly1305_ietf_KEYBYTES

typedef struct {
	char id[KEY_ID_MAX + 1];
	unsigned char key[KEYBYTES];
} key_t_;

typedef struct {
	key_t_ *keys;      /* sodium_malloc'd: guarded, locked, wiped when freed */
	size_t n;          /* the last one encodes */
	char path[256];
} keyring_t;

static void ring_free(void *arg)
{
	keyring_t *r = arg;
	if (!r)
		return;
	sodium_free(r->keys);
	free(r);
}

static const key_t_ *find_key(const keyring_t *r, const char *id)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->keys[i].id, id) == 0)
			return &r->keys[i];
	return NULL;
}

/* "durable:<codec>:<key id>": what the tag covers besides the ciphertext. */
static size_t additional_data(char *buf, size_t size, const char *id)
{
	int n = snprintf(buf, size, "durable:%s:%s", CODEC_NAME, id);
	return n < 0 ? 0 : (size_t)n;
}

static int encode(void *arg, const char *text, size_t len, json_t *encoded, char *err, size_t errlen)
{
	const keyring_t *r = arg;
	const key_t_ *k = &r->keys[r->n - 1];
	char ad[128];
	size_t adlen = additional_data(ad, sizeof(ad), k->id);
	size_t rawlen = NONCE + len + TAG;
	unsigned char *raw = malloc(rawlen);
	size_t b64len = sodium_base64_ENCODED_LEN(rawlen, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = malloc(b64len);
	unsigned long long ctlen = 0;
	if (!raw || !b64) {
		free(raw);
		free(b64);
		snprintf(err, errlen, "out of memory encrypting a payload");
		return -ENOMEM;
	}
	randombytes_buf(raw, NONCE);
	crypto_aead_xchacha20poly1305_ietf_encrypt(raw + NONCE, &ctlen, (const unsigned char *)text, len,
						   (const unsigned char *)ad, adlen, NULL, raw, k->key);
	sodium_bin2base64(b64, b64len, raw, NONCE + (size_t)ctlen, sodium_base64_VARIANT_ORIGINAL);
	free(raw);
	int rc = json_object_set_new(encoded, "key", json_string(k->id)) < 0 ||
		 json_object_set_new(encoded, "data", json_string(b64)) < 0;
	free(b64);
	if (rc) {
		snprintf(err, errlen, "out of memory encrypting a payload");
		return -ENOMEM;
	}
	return 0;
}

static int decode(void *arg, const json_t *encoded, char **text, size_t *len, char *err, size_t errlen)
{
	const keyring_t *r = arg;
	const char *id = json_string_value(json_object_get(encoded, "key"));
	const char *b64 = json_string_value(json_object_get(encoded, "data"));
	if (!id || !b64) {
		snprintf(err, errlen, "a payload of codec %s has no \"key\" or \"data\" string", CODEC_NAME);
		return DURABLE_ECODEC;
	}
	const key_t_ *k = find_key(r, id);
	if (!k) {
		snprintf(err, errlen, "a payload is encrypted with key \"%.64s\", which the key file %s does not have",
			 id, r->path);
		return DURABLE_ECODEC;
	}
	size_t b64len = strlen(b64), rawlen = 0;
	unsigned char *raw = malloc(b64len / 4 * 3 + 3);
	if (!raw) {
		snprintf(err, errlen, "out of memory decrypting a payload");
		return -ENOMEM;
	}
	if (sodium_base642bin(raw, b64len / 4 * 3 + 3, b64, b64len, NULL, &rawlen, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 || rawlen < NONCE + TAG) {
		free(raw);
		snprintf(err, errlen, "a payload of key \"%s\" has data that is not base64 of a nonce and a tag", id);
		return DURABLE_ECODEC;
	}
	char ad[128];
	size_t adlen = additional_data(ad, sizeof(ad), k->id);
	char *out = malloc(rawlen - NONCE - TAG + 1);
	unsigned long long outlen = 0;
	if (!out) {
		free(raw);
		snprintf(err, errlen, "out of memory decrypting a payload");
		return -ENOMEM;
	}
	if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)out, &outlen, NULL, raw + NONCE,
						       rawlen - NONCE, (const unsigned char *)ad, adlen, raw,
						       k->key) != 0) {
		free(raw);
		free(out);
		snprintf(err, errlen,
			 "a payload of key \"%s\" does not decrypt: key \"%s\" of %s is not the key it was "
			 "encrypted with, or the payload was altered", id, id, r->path);
		return DURABLE_ECODEC;
	}
	free(raw);
	out[outlen] = '\0';
	*text = out;
	*len = (size_t)outlen;
	return 0;
}

static int valid_id(const char *s, size_t n)
{
	if (n == 0 || n > KEY_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-", s[i]))
			return 0;
	return 1;
}

/* One "<id> <base64 key>" line (without its newline) into r. */
static int parse_line(keyring_t *r, char *line, int lineno, size_t cap, char *err, size_t errlen)
{
	char *id = line + strspn(line, " \t");
	if (*id == '\0' || *id == '#')
		return 0;
	size_t idlen = strcspn(id, " \t");
	char *b64 = id + idlen + strspn(id + idlen, " \t");
	size_t b64len = strcspn(b64, " \t\r#");
	if (!valid_id(id, idlen) || b64len == 0) {
		snprintf(err, errlen, "%s line %d: want \"<key id> <base64 key>\", the id of 1 to %d letters, digits, "
			 "'.', '_' or '-'", r->path, lineno, KEY_ID_MAX);
		return DURABLE_ECODEC;
	}
	id[idlen] = '\0';
	if (find_key(r, id)) {
		snprintf(err, errlen, "%s line %d: key id \"%s\" appears twice", r->path, lineno, id);
		return DURABLE_ECODEC;
	}
	if (r->n == cap) {
		snprintf(err, errlen, "%s: more than %zu keys", r->path, cap);
		return DURABLE_ECODEC;
	}
	key_t_ *k = &r->keys[r->n];
	size_t keylen = 0;
	if (sodium_base642bin(k->key, sizeof(k->key), b64, b64len, NULL, &keylen, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 || keylen != KEYBYTES) {
		snprintf(err, errlen, "%s line %d: key \"%s\" is not the base64 of %d bytes (durable-codec keygen "
			 "makes one)", r->path, lineno, id, KEYBYTES);
		return DURABLE_ECODEC;
	}
	snprintf(k->id, sizeof(k->id), "%s", id);
	r->n++;
	return 0;
}

/* The file's text (NUL-terminated), refusing one others may read. */
static int read_key_file(const char *path, char **out, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		snprintf(err, errlen, "key file %s: %s", path, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > KEY_FILE_MAX) {
		snprintf(err, errlen, "key file %s: not a regular file of at most 1 MiB", path);
		close(fd);
		return DURABLE_ECODEC;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen, "key file %s is open to group or others (mode %03o): chmod 600 %s", path,
			 (unsigned)(st.st_mode & 0777), path);
		close(fd);
		return DURABLE_ECODEC;
	}
	char *buf = sodium_malloc((size_t)st.st_size + 1);
	ssize_t got = buf ? read(fd, buf, (size_t)st.st_size) : -1;
	close(fd);
	if (got != st.st_size) {
		snprintf(err, errlen, "key file %s: could not read it", path);
		sodium_free(buf);
		return -EIO;
	}
	buf[got] = '\0';
	*out = buf;
	return 0;
}

int durable_codec_key_file(const char *path, durable_codec_t *codec, char *err, size_t errlen)
{
	char *text = NULL;
	int rc;
	if (!path || !codec) {
		snprintf(err, errlen, "no key file given");
		return -EINVAL;
	}
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium could not initialise");
		return DURABLE_ECODEC;
	}
	if ((rc = read_key_file(path, &text, err, errlen)) < 0)
		return rc;
	size_t cap = 1;
	for (const char *p = text; *p; p++)
		cap += *p == '\n';
	keyring_t *r = calloc(1, sizeof(*r));
	if (!r || !(r->keys = sodium_malloc(cap * sizeof(key_t_)))) {
		free(r);
		sodium_free(text);
		snprintf(err, errlen, "out of memory reading key file %s", path);
		return -ENOMEM;
	}
	snprintf(r->path, sizeof(r->path), "%s", path);
	int lineno = 0;
	for (char *line = text, *next; line && rc == 0; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		rc = parse_line(r, line, ++lineno, cap, err, errlen);
	}
	sodium_free(text);
	if (rc == 0 && r->n == 0) {
		snprintf(err, errlen, "key file %s has no keys (durable-codec keygen makes one)", path);
		rc = DURABLE_ECODEC;
	}
	if (rc < 0) {
		ring_free(r);
		return rc;
	}
	sodium_mprotect_readonly(r->keys);
	*codec = (durable_codec_t){.name = CODEC_NAME, .encode = encode, .decode = decode, .free = ring_free,
				   .arg = r};
	return 0;
}
