/*
 * age_keys: identities (AGE-SECRET-KEY-1..., upper case) and recipients
 * (age1..., lower case) as Bech32 strings, and key files in the age CLI's
 * format. Secrets are wiped (OPENSSL_cleanse) whenever they are dropped,
 * and no message quotes a key or a line of a key file.
 */
#include "age_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define KEYFILE_MAX (64 * 1024)

int
age_format_recipient(const uint8_t pub[AGE_KEY_LEN], char *out,
    size_t outlen)
{
	return age_bech32_encode("age", pub, AGE_KEY_LEN, false, out,
	    outlen) < 0 ? -1 : 0;
}

int
age_format_identity(const uint8_t secret[AGE_KEY_LEN], char *out,
    size_t outlen)
{
	return age_bech32_encode("age-secret-key-", secret, AGE_KEY_LEN, true,
	    out, outlen) < 0 ? -1 : 0;
}

static int
add_identity_bytes(struct age_keys *k, const uint8_t secret[AGE_KEY_LEN],
    char *err, size_t errlen)
{
	struct age_identity *v;

	/* Grow by hand so the old array can be wiped, unlike realloc. */
	if ((v = calloc(k->nids + 1, sizeof(*v))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (k->nids > 0)
		memcpy(v, k->ids, k->nids * sizeof(*v));
	memcpy(v[k->nids].secret, secret, AGE_KEY_LEN);
	if (age_x25519_base(secret, v[k->nids].pub) < 0) {
		OPENSSL_cleanse(v, (k->nids + 1) * sizeof(*v));
		free(v);
		snprintf(err, errlen, "cannot derive the identity's public "
		    "key");
		return -1;
	}
	if (k->ids != NULL) {
		OPENSSL_cleanse(k->ids, k->nids * sizeof(*v));
		free(k->ids);
	}
	k->ids = v;
	k->nids++;
	return 0;
}

int
age_keys_add_identity(struct age_keys *k, const char *s, char *err,
    size_t errlen)
{
	uint8_t secret[AGE_KEY_LEN];
	int rc;

	if (age_parse_identity(s, secret, err, errlen) < 0)
		return -1;
	rc = add_identity_bytes(k, secret, err, errlen);
	OPENSSL_cleanse(secret, sizeof(secret));
	return rc;
}

static int
add_recipient_bytes(struct age_keys *k, const uint8_t pub[AGE_KEY_LEN])
{
	void *v = realloc(k->rcpts, (k->nrcpts + 1) * AGE_KEY_LEN);

	if (v == NULL)
		return -1;
	k->rcpts = v;
	memcpy(k->rcpts[k->nrcpts++], pub, AGE_KEY_LEN);
	return 0;
}

int
age_keys_add_recipient(struct age_keys *k, const char *s, char *err,
    size_t errlen)
{
	uint8_t pub[AGE_KEY_LEN];

	if (age_parse_recipient(s, pub, err, errlen) < 0)
		return -1;
	if (add_recipient_bytes(k, pub) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int
age_keys_recipients_from_identities(struct age_keys *k)
{
	for (size_t i = 0; i < k->nids; i++)
		if (add_recipient_bytes(k, k->ids[i].pub) < 0)
			return -1;
	return 0;
}

/* Reads PATH whole into BUF (at most KEYFILE_MAX), refusing a file that
 * group or others may access. Returns the length or -1 with ERR. */
static ssize_t
read_key_file(const char *path, char *buf, char *err, size_t errlen)
{
	struct stat st;
	ssize_t len = 0, n;
	/* O_NONBLOCK: a FIFO must not hang us before the S_ISREG check. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "age identity file %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "age identity file %s: not a regular "
		    "file", path);
		goto fail;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "age identity file %s is accessible by "
		    "group or others (mode %04o); fix with: chmod 600 %s",
		    path, (unsigned)(st.st_mode & 07777), path);
		goto fail;
	}
	while ((n = read(fd, buf + len, KEYFILE_MAX + 1 - (size_t)len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "age identity file %s: %s", path,
			    strerror(errno));
			goto fail;
		}
		len += n;
		if (len > KEYFILE_MAX) {
			snprintf(err, errlen, "age identity file %s: larger "
			    "than %d bytes", path, KEYFILE_MAX);
			goto fail;
		}
	}
	close(fd);
	return len;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

int
age_keys_file_each(const char *path, age_key_line_fn *fn, void *arg,
    char *err, size_t errlen)
{
	char *buf = malloc(KEYFILE_MAX + 2), why[160];
	size_t nkeys = 0, lineno = 0;
	ssize_t len;
	int rc = -1;

	if (buf == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((len = read_key_file(path, buf, err, errlen)) < 0)
		goto out;
	buf[len] = '\0';
	for (char *line = buf, *next; line < buf + len; line = next) {
		char *nl = memchr(line, '\n', (size_t)(buf + len - line));
		next = nl ? nl + 1 : buf + len;
		if (nl)
			*nl = '\0';
		lineno++;
		size_t ll = strlen(line);
		if ((char *)line + ll != (nl ? nl : buf + len)) {
			snprintf(err, errlen, "age identity file %s line %zu: "
			    "NUL byte", path, lineno);
			goto out;
		}
		if (ll > 0 && line[ll - 1] == '\r')
			line[--ll] = '\0';
		if (ll == 0 || line[0] == '#')
			continue;
		if (fn(line, arg, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "age identity file %s line %zu: "
			    "%s", path, lineno, why);
			goto out;
		}
		nkeys++;
	}
	if (nkeys == 0) {
		snprintf(err, errlen, "age identity file %s: no identity "
		    "(AGE-SECRET-KEY-1...) in it", path);
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(buf, KEYFILE_MAX + 2);
	free(buf);
	return rc;
}

static int
add_identity_line(const char *line, void *arg, char *why, size_t whylen)
{
	return age_keys_add_identity(arg, line, why, whylen);
}

int
age_keys_load_file(struct age_keys *k, const char *path, char *err,
    size_t errlen)
{
	return age_keys_file_each(path, add_identity_line, k, err, errlen);
}

void
age_keys_clear(struct age_keys *k)
{
	if (k->ids != NULL) {
		OPENSSL_cleanse(k->ids, k->nids * sizeof(*k->ids));
		free(k->ids);
	}
	free(k->rcpts);
	memset(k, 0, sizeof(*k));
}
