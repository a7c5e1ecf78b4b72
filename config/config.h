/*
 * config: Litestream v0.3.13's YAML config (plus walship's own keys), parsed
 * with libyaml into a validated struct.
 *
 * Loading runs Litestream's pipeline: read the file, expand $VAR/${VAR} over
 * the whole text (Go os.ExpandEnv semantics, unless expand_env is 0), parse
 * the YAML keeping every node's line and column, then validate. Every error
 * is collected (not just the first) and printed as FILE:LINE:COL: message.
 *
 * Durations are Go's syntax ("10s", "1h30m", "500ms"; a bare integer means
 * nanoseconds, as in Litestream) and are kept in nanoseconds.
 * Secrets (secret-access-key, age identities, sftp password, abs account-key)
 * are never printed: cfg_print() writes <redacted>, and no message quotes
 * them. cfg_free() wipes every string before freeing it.
 *
 * Stricter than Litestream, on purpose: unknown keys (with a "did you mean"),
 * repeated keys, values of the wrong type, an unknown logging.level (which
 * Litestream reads as info), and a url: whose scheme contradicts type:
 * (Litestream lets the scheme win) are errors. Keys of later Litestream
 * releases are warnings and are ignored; keys starting with "x-" are
 * extension fields (handy for YAML anchors) and are ignored silently.
 *
 * After a successful load no string field is NULL ("" when unset), paths
 * (db, meta, file replica, key-path, age.identity-file) are absolute, s3
 * endpoints carry a scheme and replicas have their effective settings.
 */
#ifndef WALSHIP_CONFIG_H
#define WALSHIP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NS_PER_SEC 1000000000LL

/* Defaults, as Litestream v0.3.13 (format doc §5.2) plus walship's own. */
#define CFG_DEFAULT_MONITOR_INTERVAL (1 * NS_PER_SEC)
#define CFG_DEFAULT_CHECKPOINT_INTERVAL (60 * NS_PER_SEC)
#define CFG_DEFAULT_MIN_CHECKPOINT_PAGES 1000
#define CFG_DEFAULT_MAX_CHECKPOINT_PAGES 10000
#define CFG_DEFAULT_RETENTION (24 * 3600 * NS_PER_SEC)
#define CFG_DEFAULT_RETENTION_CHECK_INTERVAL (3600 * NS_PER_SEC)
#define CFG_DEFAULT_SYNC_INTERVAL (1 * NS_PER_SEC)
/* The least time between two upload passes of a replica with SYNC_INTERVAL
 * (0: the default): the interval less a little slack (100 ms, or half of
 * it), so that a pass can follow each walreader sync as it arrives. The
 * walreader paces its frame notices by the same gap. */
static inline int64_t
cfg_upload_gap(int64_t sync_interval)
{
	int64_t every = sync_interval > 0 ? sync_interval :
	    CFG_DEFAULT_SYNC_INTERVAL;
	return every - (every / 2 < NS_PER_SEC / 10 ? every / 2 :
	    NS_PER_SEC / 10);
}
#define CFG_DEFAULT_SHADOW_MAX_SIZE (1024LL * 1024 * 1024) /* 1 GiB */
#define CFG_DEFAULT_SNAPSHOT_WAL_BYTES (1024LL * 1024 * 1024) /* 1 GiB */
#define CFG_DEFAULT_USER "walship"

enum cfg_replica_type {
	CFG_REPLICA_FILE = 0,
	CFG_REPLICA_S3,
	CFG_REPLICA_GCS,
	CFG_REPLICA_ABS,
	CFG_REPLICA_SFTP,
};

/* Where a replica's S3 credentials come from (format doc §5.3). */
enum cfg_cred_source {
	CFG_CRED_NONE = 0,	/* none found: shared credentials file/role */
	CFG_CRED_CONFIG,	/* the replica's keys, else the global keys */
	CFG_CRED_ENV,		/* AWS_* (LITESTREAM_* when AWS_* are unset) */
};

/* walship: S3 server-side encryption asked for by sse:/encryption:. */
enum cfg_sse {
	CFG_SSE_NONE = 0,
	CFG_SSE_AES256,		/* sse: AES256, or encryption: aes256 */
	CFG_SSE_KMS,		/* sse: aws:kms (implied by sse-kms-key-id) */
};

/* Where a value came from in the file, 1-based (0 = not in the file). */
struct cfg_mark {
	int line;
	int col;
};

struct cfg_strlist {
	char **v;
	size_t n;
};

struct cfg_replica {
	struct cfg_mark mark;        /* the replica's mapping */
	char *name;                  /* default: the type name */
	enum cfg_replica_type type;
	char *url;                   /* as written (after env expansion) */
	char *path;                  /* file: absolute dir; s3...: key prefix */

	int64_t retention;           /* ns; <= 0 disables retention */
	int64_t retention_check_interval;
	int64_t sync_interval;
	int64_t snapshot_interval;   /* 0 = off */
	int64_t validation_interval; /* 0 = off */

	/* s3 */
	char *access_key_id;         /* replica, else global, else env */
	char *secret_access_key;     /* secret */
	char *session_token;         /* secret; AWS_SESSION_TOKEN, env only */
	enum cfg_cred_source cred_source;
	char *region;                /* "us-east-1" when endpoint given, §5.5 */
	char *bucket;
	char *endpoint;              /* with scheme; https:// added if absent */
	bool force_path_style;
	bool skip_verify;
	enum cfg_sse sse;            /* walship: sse:, encryption: */
	char *sse_kms_key_id;        /* walship: sse-kms-key-id: */

	/* abs */
	char *account_name;
	char *account_key;           /* secret */
	/* sftp */
	char *host;
	char *user;
	char *password;              /* secret */
	char *key_path;              /* absolute, ~ expanded */

	/* age */
	struct cfg_strlist age_identities; /* secret */
	struct cfg_strlist age_recipients;
	char *age_identity_file;     /* walship: age.identity-file, absolute */
	/* After cfg_drop_secrets: a SHA-256 of the secrets it dropped, so a
	 * reload can tell whether they changed without holding them
	 * (digest_kept; cfg_forget_secrets keeps none). */
	bool secrets_dropped;
	bool digest_kept;
	unsigned char secrets_digest[32];
};

struct cfg_db {
	struct cfg_mark mark;
	char *path;                  /* absolute, ~ expanded, symlinks kept */
	char *meta_path;             /* default <dir>/.<name>-litestream */
	int64_t monitor_interval;
	int64_t checkpoint_interval;
	long min_checkpoint_page_count;
	long max_checkpoint_page_count;
	int64_t shadow_max_size;     /* bytes; walship: the shadow-log cap */
	int64_t snapshot_wal_bytes;  /* bytes; walship: a snapshot once this
					much WAL (and at least the database's
					size) followed the last; 0 = off */
	struct cfg_replica *replicas;
	size_t nreplicas;
};

struct cfg {
	char *file;                  /* the path it was loaded from */
	char *addr;                  /* metrics listener, "" = off */
	char *exec;
	char *access_key_id;
	char *secret_access_key;     /* secret */
	char *log_level;             /* "info" default */
	char *log_type;              /* "text" or "json" */
	bool log_stderr;
	char *user;                  /* walship: service user for children */
	int64_t shadow_max_size;     /* walship: default for every db */
	int64_t snapshot_wal_bytes;  /* walship: default for every db */
	struct cfg_db *dbs;
	size_t ndbs;
	bool has_secrets;            /* a secret written literally in the file
	                                (not only through $VAR expansion) */
};

/*
 * Loads and validates FILE ("~/" expanded). Every problem is written to
 * ERRS, in file order, as "FILE:LINE:COL: WHERE: message" (WHERE is e.g.
 * "dbs[0].replicas[1].bucket"; warnings as "FILE:LINE:COL: warning: ...").
 * If the file holds a secret written literally and group or others can read
 * it: "FILE: warning: file contains secrets and is readable by others; fix
 * with: chmod 600 FILE". Returns NULL if there was any error; *nerrors gets
 * the count (warnings are not counted). ERRS and NERRORS may be NULL.
 */
struct cfg *cfg_load(const char *file, bool expand_env, FILE *errs,
    int *nerrors);
/* Same, from text in memory (NAME is used in messages). */
struct cfg *cfg_load_text(const char *name, const char *text, size_t len,
    bool expand_env, FILE *errs, int *nerrors);
void cfg_free(struct cfg *cfg);
/* cfg_forget_secrets(CFG, NULL, false), keeping each replica's secrets
 * digest first: for the supervisor, which holds no credential but
 * compares configs on reload. */
void cfg_drop_secrets(struct cfg *cfg);
/* A SHA-256 over R's secrets (the one kept if they were dropped; all
 * zeros when R has none), for comparing two configs' secrets. Fatal after
 * cfg_forget_secrets, which keeps no digest. */
void cfg_replica_secrets_digest(const struct cfg_replica *r,
    unsigned char out[32]);

/*
 * The effective config as YAML: fixed key order, defaults filled in,
 * durations in Go's form, each replica's url: written out as the keys it
 * implies (the url follows as a comment), secrets <redacted>. It loads
 * again (with expand_env off) to the same config.
 */
void cfg_print(const struct cfg *cfg, FILE *out);

/*
 * Wipes the secrets (keys, tokens, passwords, age identities) of every
 * replica but KEEP (NULL: of all), and the global keys, leaving "" in
 * their place; nothing when KEEP_ALL. For a process that must not hold
 * credentials it does not use. The replica's cred_source is kept.
 */
void cfg_forget_secrets(struct cfg *cfg, const struct cfg_replica *keep,
    bool keep_all);

/* Whether environment entry ENTRY ("NAME=value" or "NAME") is one of the
 * variables S3 credentials are read from (cfg_replica_env_creds). */
bool cfg_env_is_credential(const char *entry);

/* The db whose absolute path equals PATH (made absolute first), or NULL. */
struct cfg_db *cfg_find_db(const struct cfg *cfg, const char *path);

/*
 * For a reload (compare.c), over effective values, ignoring where in the
 * file they were: every setting of two replicas; a database's own settings
 * (path, meta path, intervals, checkpoint thresholds, shadow cap), not its
 * replicas; the replicas' names, in order.
 */
bool cfg_replica_equal(const struct cfg_replica *a,
    const struct cfg_replica *b);
bool cfg_db_settings_equal(const struct cfg_db *a, const struct cfg_db *b);
bool cfg_replica_names_equal(const struct cfg_db *a, const struct cfg_db *b);
/* DB's replica named NAME, or NULL. */
const struct cfg_replica *cfg_find_replica(const struct cfg_db *db,
    const char *name);

const char *cfg_replica_type_name(enum cfg_replica_type type);
/* "file", "s3", "gcs", "abs", "sftp" (exact case) to TYPE; -1 if unknown. */
int cfg_replica_type_parse(const char *name, enum cfg_replica_type *type);

/*
 * Builds a replica from a URL given on the command line (restore, wal, ...
 * with REPLICA_URL): type, bucket, path, region, endpoint and path style as
 * §5.4, s3 credentials from the environment, every other key at its
 * default. Returns -1 with ERR filled in (R is then cleared); on success
 * free R with cfg_replica_clear().
 */
int cfg_replica_from_url(const char *url, struct cfg_replica *r, char *err,
    size_t errlen);
void cfg_replica_clear(struct cfg_replica *r);

/*
 * Go duration syntax, plus a bare integer as nanoseconds. Returns -1 with
 * ERR filled in on bad input, in Go's words without its "time: " prefix:
 * unknown unit "d" in duration "7d".
 */
int cfg_parse_duration(const char *s, int64_t *ns, char *err, size_t errlen);
/* Go's time.Duration.String(): "1h30m0s", "500ms", "0s". */
void cfg_format_duration(int64_t ns, char *buf, size_t len);

/* Go os.ExpandEnv over TEXT; returns a malloc'd string. */
char *cfg_expand_env(const char *text, size_t len, size_t *outlen);

/*
 * Byte sizes for shadow-max-size: a plain integer (bytes) or a number with a
 * unit, as go-humanize reads them: B; K/KB, M/MB, G/GB, T/TB, P/PB (powers
 * of 1000); Ki/KiB, Mi/MiB, Gi/GiB, Ti/TiB, Pi/PiB (powers of 1024). Units
 * are case-insensitive, a space may separate them, a fraction is allowed
 * ("1.5GiB"). Returns -1 with ERR filled in on bad input.
 */
int cfg_parse_size(const char *s, int64_t *bytes, char *err, size_t errlen);
/* "1GiB", "512MiB", "100MB", else the plain number of bytes. */
void cfg_format_size(int64_t bytes, char *buf, size_t len);

/*
 * PATH made absolute the way Litestream does it: "~" and "~/..." use $HOME
 * (else the passwd entry), a relative path is joined to the current
 * directory, then the result is cleaned ("//", ".", ".."). Symlinks are not
 * resolved. Returns a malloc'd string, or NULL with errno set.
 */
char *cfg_abs_path(const char *path);

/*
 * The config file a command uses when -config is not given: $WALSHIP_CONFIG,
 * $LITESTREAM_CONFIG, /etc/walship.yml, else /etc/litestream.yml.
 */
const char *cfg_default_path(void);

#endif
