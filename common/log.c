/*
 * log: Litestream-compatible text or JSON lines for every walship role.
 *
 * One line is built in a fixed buffer and written with a single write(2), so
 * the lines of several processes sharing a descriptor do not interleave. The
 * text form follows Go's slog TextHandler: a value is quoted when it is empty
 * or holds a space, '=', '"' or a control character.
 */
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 8192

static enum log_level cur_level = LOG_LEVEL_INFO;
static enum log_format cur_format = LOG_FORMAT_TEXT;
static FILE *cur_out;
static const char *cur_role;
static char *cur_db;
static char errbuf[256];

void
log_init(enum log_level level, enum log_format format, FILE *out)
{
	cur_level = level;
	cur_format = format;
	cur_out = out;
}

int
log_parse_level(const char *s, enum log_level *level)
{
	static const struct {
		const char *name;
		enum log_level level;
	} names[] = {
		{ "debug", LOG_LEVEL_DEBUG }, { "info", LOG_LEVEL_INFO },
		{ "warn", LOG_LEVEL_WARN }, { "warning", LOG_LEVEL_WARN },
		{ "error", LOG_LEVEL_ERROR },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(s, names[i].name) == 0) {
			*level = names[i].level;
			return 0;
		}
	}
	return -1;
}

void
log_set_role(const char *role)
{
	cur_role = role;
}

void
log_set_db(const char *path)
{
	free(cur_db);
	cur_db = path ? strdup(path) : NULL;
}

enum log_level
log_get_level(void)
{
	return cur_level;
}

const char *
log_strerror(void)
{
	int e = errno;
	/* glibc's strerror returns static text for known errors: copy it. */
	snprintf(errbuf, sizeof(errbuf), "%s", strerror(e));
	errno = e;
	return errbuf;
}

/* Appender over a fixed buffer; silently truncates (the line stays valid). */
struct line {
	char buf[LOG_LINE_MAX];
	size_t len;
};

static void
put(struct line *l, const char *s, size_t n)
{
	if (l->len + n > sizeof(l->buf) - 2)
		n = sizeof(l->buf) - 2 - l->len;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void
puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

static int
needs_quote(const char *s)
{
	if (*s == '\0')
		return 1;
	/* Printable UTF-8 (µs) stays bare, as in Go's slog. */
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p <= ' ' || *p == '=' || *p == '"' || *p == 0x7f)
			return 1;
	}
	return 0;
}

/* Go strconv.Quote-like escaping, shared by the text and JSON forms. */
static void
put_quoted(struct line *l, const char *s, int json)
{
	static const char hex[] = "0123456789abcdef";
	put(l, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char esc[8];
		switch (*p) {
		case '"': puts_(l, "\\\""); break;
		case '\\': puts_(l, "\\\\"); break;
		case '\n': puts_(l, "\\n"); break;
		case '\r': puts_(l, "\\r"); break;
		case '\t': puts_(l, "\\t"); break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				if (json) {
					memcpy(esc, "\\u00", 4);
					esc[4] = hex[*p >> 4];
					esc[5] = hex[*p & 15];
					put(l, esc, 6);
				} else {
					esc[0] = '\\';
					esc[1] = 'x';
					esc[2] = hex[*p >> 4];
					esc[3] = hex[*p & 15];
					put(l, esc, 4);
				}
			} else {
				put(l, (const char *)p, 1);
			}
		}
	}
	put(l, "\"", 1);
}

void
log_quote(char *buf, size_t len, const char *s)
{
	struct line l;
	l.len = 0;
	if (needs_quote(s))
		put_quoted(&l, s, 0);
	else
		puts_(&l, s);
	l.buf[l.len] = '\0';
	snprintf(buf, len, "%s", l.buf);
}

static void
put_attr_str(struct line *l, const char *key, const char *val)
{
	if (val == NULL)
		val = "";
	if (cur_format == LOG_FORMAT_JSON) {
		put(l, ",", 1);
		put_quoted(l, key, 1);
		put(l, ":", 1);
		put_quoted(l, val, 1);
		return;
	}
	put(l, " ", 1);
	puts_(l, key);
	put(l, "=", 1);
	if (needs_quote(val))
		put_quoted(l, val, 0);
	else
		puts_(l, val);
}

static void
put_attr(struct line *l, const struct log_kv *kv)
{
	char num[32];
	switch (kv->type) {
	case LOG_KV_STR:
		put_attr_str(l, kv->key, kv->s);
		return;
	case LOG_KV_INT:
		snprintf(num, sizeof(num), "%lld", kv->i);
		break;
	case LOG_KV_UINT:
		snprintf(num, sizeof(num), "%llu", kv->u);
		break;
	}
	if (cur_format == LOG_FORMAT_JSON) {
		put(l, ",", 1);
		put_quoted(l, kv->key, 1);
		put(l, ":", 1);
		puts_(l, num);
	} else {
		put(l, " ", 1);
		puts_(l, kv->key);
		put(l, "=", 1);
		puts_(l, num);
	}
}

static const char *
level_name(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_DEBUG: return "DEBUG";
	case LOG_LEVEL_INFO: return "INFO";
	case LOG_LEVEL_WARN: return "WARN";
	case LOG_LEVEL_ERROR: return "ERROR";
	}
	return "INFO";
}

static void
format_time(char *buf, size_t len)
{
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03ldZ", (long)(tv.tv_usec / 1000));
}

static void
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return; /* nowhere left to report it */
		}
		p += w;
		n -= (size_t)w;
	}
}

void
log_emit(enum log_level level, const char *msg, const struct log_kv *kv,
    size_t nkv)
{
	struct line l;
	char ts[40];
	int saved = errno;

	if (level < cur_level)
		return;
	l.len = 0;
	format_time(ts, sizeof(ts));
	if (cur_format == LOG_FORMAT_JSON) {
		puts_(&l, "{\"time\":\"");
		puts_(&l, ts);
		puts_(&l, "\",\"level\":\"");
		puts_(&l, level_name(level));
		puts_(&l, "\",\"msg\":");
		put_quoted(&l, msg, 1);
	} else {
		puts_(&l, "time=");
		puts_(&l, ts);
		puts_(&l, " level=");
		puts_(&l, level_name(level));
		put_attr_str(&l, "msg", msg);
		/* put_attr_str added a leading space before msg: keep it. */
	}
	if (cur_role)
		put_attr_str(&l, "role", cur_role);
	if (cur_db)
		put_attr_str(&l, "db", cur_db);
	for (size_t i = 0; i < nkv; i++)
		put_attr(&l, &kv[i]);
	if (cur_format == LOG_FORMAT_JSON)
		put(&l, "}", 1);
	l.buf[l.len++] = '\n';
	FILE *out = cur_out ? cur_out : stdout;
	fflush(out);
	write_all(fileno(out), l.buf, l.len);
	errno = saved;
}

void
log_fatal_(const char *msg, const struct log_kv *kv, size_t nkv)
{
	log_emit(LOG_LEVEL_ERROR, msg, kv, nkv);
	exit(1);
}
