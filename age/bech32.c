/*
 * bech32: BIP 173 Bech32 as age spells its keys (age1... recipients,
 * AGE-SECRET-KEY-1... identities). Unlike BIP 173 there is no 90-character
 * limit, and the checksum is always computed over the lowercased string;
 * a string in mixed case is rejected.
 */
#include "age_int.h"

#include <string.h>

static const char charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

static uint32_t
polymod_step(uint32_t chk, unsigned v)
{
	static const uint32_t gen[5] = { 0x3b6a57b2, 0x26508e6d, 0x1ea119fa,
		0x3d4233dd, 0x2a1462b3 };
	uint32_t top = chk >> 25;

	chk = (chk & 0x1ffffff) << 5 ^ v;
	for (int i = 0; i < 5; i++)
		if ((top >> i) & 1)
			chk ^= gen[i];
	return chk;
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* The checksum state after the expanded HRP (lowercased). */
static uint32_t
hrp_polymod(const char *hrp, size_t n)
{
	uint32_t chk = 1;

	for (size_t i = 0; i < n; i++)
		chk = polymod_step(chk, (unsigned)lower(hrp[i]) >> 5);
	chk = polymod_step(chk, 0);
	for (size_t i = 0; i < n; i++)
		chk = polymod_step(chk, (unsigned)lower(hrp[i]) & 31);
	return chk;
}

static int
charset_value(char c)
{
	const char *p = c ? strchr(charset, lower(c)) : NULL;
	return p ? (int)(p - charset) : -1;
}

int
age_bech32_decode(const char *s, const char *hrp, uint8_t *out,
    size_t outcap)
{
	size_t len = strlen(s), hlen;
	bool has_lower = false, has_upper = false;
	const char *sep = strrchr(s, '1');

	for (size_t i = 0; i < len; i++) {
		if (s[i] < 33 || s[i] > 126)
			return -1;
		has_lower |= s[i] >= 'a' && s[i] <= 'z';
		has_upper |= s[i] >= 'A' && s[i] <= 'Z';
	}
	if ((has_lower && has_upper) || sep == NULL)
		return -1;
	hlen = (size_t)(sep - s);
	if (hlen == 0 || hlen != strlen(hrp) || len - hlen - 1 < 6)
		return -1;
	for (size_t i = 0; i < hlen; i++)
		if (lower(s[i]) != lower(hrp[i]))
			return -1;

	uint32_t chk = hrp_polymod(s, hlen);
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0, ndata = len - hlen - 1 - 6;
	for (size_t i = 0; i < len - hlen - 1; i++) {
		int v = charset_value(sep[1 + i]);
		if (v < 0)
			return -1;
		chk = polymod_step(chk, (unsigned)v);
		if (i >= ndata)
			continue;
		acc = acc << 5 | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (o == outcap)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Padding: fewer than 5 bits, all zero. */
	if (chk != 1 || bits >= 5 || acc != 0)
		return -1;
	return (int)o;
}

int
age_bech32_encode(const char *hrp, const uint8_t *data, size_t len,
    bool upper, char *out, size_t outcap)
{
	size_t hlen = strlen(hrp), o = 0;
	size_t n5 = (len * 8 + 4) / 5;
	uint32_t chk, acc = 0;
	unsigned bits = 0;
	uint8_t v;

	if (hlen + 1 + n5 + 6 + 1 > outcap)
		return -1;
	chk = hrp_polymod(hrp, hlen);
	for (size_t i = 0; i < hlen; i++)
		out[o++] = lower(hrp[i]);
	out[o++] = '1';
	for (size_t i = 0; i < len; i++) {
		acc = acc << 8 | data[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			v = (uint8_t)((acc >> bits) & 31);
			chk = polymod_step(chk, v);
			out[o++] = charset[v];
		}
	}
	if (bits > 0) {
		v = (uint8_t)((acc << (5 - bits)) & 31);
		chk = polymod_step(chk, v);
		out[o++] = charset[v];
	}
	for (int i = 0; i < 6; i++)
		chk = polymod_step(chk, 0);
	chk ^= 1;
	for (int i = 0; i < 6; i++)
		out[o++] = charset[(chk >> (5 * (5 - i))) & 31];
	out[o] = '\0';
	if (upper)
		for (size_t i = 0; i < o; i++)
			if (out[i] >= 'a' && out[i] <= 'z')
				out[i] = (char)(out[i] - 'a' + 'A');
	return (int)o;
}
