/*
 * age_parse: age identities and recipients from their Bech32 text. Kept
 * apart from the rest of age/ because it needs no cryptography: config
 * validation uses it in every process, and those need not load the
 * module (module/module.h).
 */
#include <stdio.h>
#include <string.h>

#include "age_int.h"

int
age_parse_identity(const char *s, uint8_t out[AGE_KEY_LEN], char *err,
    size_t errlen)
{
	uint8_t buf[64];
	int n;

	if (strncmp(s, "AGE-SECRET-KEY-1", 16) != 0) {
		snprintf(err, errlen, "not an age identity (want "
		    "AGE-SECRET-KEY-1..., as age-keygen writes it)");
		return -1;
	}
	n = age_bech32_decode(s, "age-secret-key-", buf, sizeof(buf));
	if (n != AGE_KEY_LEN) {
		snprintf(err, errlen, "malformed age identity (bad Bech32 "
		    "checksum, characters or length)");
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	memcpy(out, buf, AGE_KEY_LEN);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

int
age_parse_recipient(const char *s, uint8_t out[AGE_KEY_LEN], char *err,
    size_t errlen)
{
	uint8_t buf[64];
	int n;

	if (strncmp(s, "age1", 4) != 0) {
		snprintf(err, errlen, "not an age X25519 recipient (want "
		    "age1...)");
		return -1;
	}
	n = age_bech32_decode(s, "age", buf, sizeof(buf));
	if (n != AGE_KEY_LEN) {
		snprintf(err, errlen, "malformed age recipient (bad Bech32 "
		    "checksum, characters or length)");
		return -1;
	}
	memcpy(out, buf, AGE_KEY_LEN);
	return 0;
}
