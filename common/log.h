/*
 * log: the one logging module of every walship process role.
 *
 * Lines look like Litestream's (Go slog text handler):
 *   time=2026-11-25T18:43:55.875Z level=INFO msg="initialized db" path=/data/app.db
 * or, with `logging: type: json`, one JSON object a line. Every line carries
 * the role and database of the process once log_set_role()/log_set_db() were
 * called, so the lines of many children can share one journal.
 *
 * Attributes are typed key/value pairs built with KV_S/KV_I/KV_U/KV_ERR, so
 * the text and JSON forms quote each value correctly:
 *   log_info("replicating to", KV_S("name", r->name), KV_I("n", 3));
 * log_warn()/log_error() with KV_ERR() append `error="<strerror(errno)>"`.
 * fatal()/fatalx() log at ERROR and exit(1): they are for broken invariants
 * and failed setup steps; the supervisor restarts the role.
 */
#ifndef WALSHIP_LOG_H
#define WALSHIP_LOG_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

enum log_level {
	LOG_LEVEL_DEBUG = 0,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,
};

enum log_format {
	LOG_FORMAT_TEXT = 0,
	LOG_FORMAT_JSON,
};

enum log_kv_type {
	LOG_KV_STR,
	LOG_KV_INT,
	LOG_KV_UINT,
};

struct log_kv {
	const char *key;
	enum log_kv_type type;
	const char *s;
	long long i;
	unsigned long long u;
};

#define KV_S(k, v) ((struct log_kv){ .key = (k), .type = LOG_KV_STR, .s = (v) })
#define KV_I(k, v) ((struct log_kv){ .key = (k), .type = LOG_KV_INT, .i = (v) })
#define KV_U(k, v) ((struct log_kv){ .key = (k), .type = LOG_KV_UINT, .u = (v) })
/* error=<strerror(errno)>, evaluated where the macro is used. */
#define KV_ERR() KV_S("error", log_strerror())
/* error=<message> */
#define KV_ERRS(msg) KV_S("error", (msg))

/* Configure output. Defaults: INFO, text, stdout (as Litestream). */
void log_init(enum log_level level, enum log_format format, FILE *out);
/* Parses Litestream's level names (debug, info, warn, warning, error;
 * case-insensitive). Returns -1 for anything else. */
int log_parse_level(const char *s, enum log_level *level);
/* Every later line carries role=ROLE (NULL to clear). */
void log_set_role(const char *role);
/* Every later line carries db=PATH (NULL to clear). */
void log_set_db(const char *path);
enum log_level log_get_level(void);
const char *log_strerror(void);

void log_emit(enum log_level level, const char *msg, const struct log_kv *kv,
    size_t nkv);

#define LOG_KVS_(...) (const struct log_kv[]){ __VA_ARGS__ }, \
	(sizeof((const struct log_kv[]){ __VA_ARGS__ }) / sizeof(struct log_kv))

#define log_debug(msg, ...) do { \
	if (log_get_level() <= LOG_LEVEL_DEBUG) \
		log_emit(LOG_LEVEL_DEBUG, (msg), LOG_KVS_(__VA_ARGS__)); \
} while (0)
#define log_info(msg, ...) log_emit(LOG_LEVEL_INFO, (msg), LOG_KVS_(__VA_ARGS__))
#define log_warn(msg, ...) log_emit(LOG_LEVEL_WARN, (msg), LOG_KVS_(__VA_ARGS__))
#define log_error(msg, ...) log_emit(LOG_LEVEL_ERROR, (msg), LOG_KVS_(__VA_ARGS__))
#define fatal(msg, ...) log_fatal_((msg), LOG_KVS_(KV_ERR(), ##__VA_ARGS__))
#define fatalx(msg, ...) log_fatal_((msg), LOG_KVS_(__VA_ARGS__))

__attribute__((noreturn)) void log_fatal_(const char *msg,
    const struct log_kv *kv, size_t nkv);

/* Appends the text-form quoting of S to BUF (for callers that print values
 * in Litestream's style outside a log line). */
void log_quote(char *buf, size_t len, const char *s);

#endif
