/*
 * print: the effective config as YAML (walship replicate -n, golden tests).
 *
 * Fixed key order, every default filled in, durations in Go's form
 * ("1m0s"), sizes as "1GiB", paths absolute, and for each replica only the
 * keys its type uses, with what its url: implied written out as keys (the
 * url itself follows as a comment). The output loads again with the same
 * meaning (with -no-expand-env, since values are printed as they are).
 * Secrets are printed as <redacted>, empty ones as "" so that a missing
 * secret stays visible; credentials taken from the environment are only
 * named in a comment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_int.h"
#include "config.h"

#define REDACTED "<redacted>"

static bool
isalnum_ascii(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z');
}

/* Plain YAML when that reads back as the same string, else "quoted". */
static bool
plain_ok(const char *s)
{
	static const char *const words[] = { "y", "Y", "yes", "Yes", "YES",
		"n", "N", "no", "No", "NO", "true", "True", "TRUE", "false",
		"False", "FALSE", "on", "On", "ON", "off", "Off", "OFF", "null",
		"Null", "NULL" };
	const unsigned char *p = (const unsigned char *)s;

	if (*p == '\0' || !(isalnum_ascii(*p) || *p == '/' || *p == '.' ||
	    *p == '_' || *p >= 0x80))
		return false;
	for (; *p; p++) {
		if (*p == ':' && p[1] != '\0' && p[1] != ' ')
			continue;	/* "http://x" is plain; "x: " is not */
		if (!(isalnum_ascii(*p) || strchr("/._-+~=@,", *p) != NULL ||
		    *p >= 0x80))
			return false;
	}
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(s, words[i]) == 0)
			return false;
	return true;
}

static void
put_str(FILE *out, const char *s)
{
	if (s == NULL)
		s = "";
	if (plain_ok(s)) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", out);
		else if (*p == '\t')
			fputs("\\t", out);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\x%02x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static void
kv_str(FILE *out, int ind, const char *key, const char *v)
{
	fprintf(out, "%*s%s: ", ind, "", key);
	put_str(out, v);
	fputc('\n', out);
}

static void
kv_secret(FILE *out, int ind, const char *key, const char *v)
{
	if (v == NULL || *v == '\0')
		fprintf(out, "%*s%s: \"\"\n", ind, "", key);
	else
		fprintf(out, "%*s%s: " REDACTED "\n", ind, "", key);
}

static void
kv_dur(FILE *out, int ind, const char *key, int64_t ns)
{
	char buf[40];

	cfg_format_duration(ns, buf, sizeof(buf));
	kv_str(out, ind, key, buf);
}

static void
kv_size(FILE *out, int ind, const char *key, int64_t n)
{
	char buf[40];

	cfg_format_size(n, buf, sizeof(buf));
	kv_str(out, ind, key, buf);
}

static void
kv_bool(FILE *out, int ind, const char *key, bool v)
{
	fprintf(out, "%*s%s: %s\n", ind, "", key, v ? "true" : "false");
}

static void
print_creds(FILE *out, int ind, const struct cfg_replica *r)
{
	switch (r->cred_source) {
	case CFG_CRED_CONFIG:
		kv_str(out, ind, "access-key-id", r->access_key_id);
		kv_secret(out, ind, "secret-access-key", r->secret_access_key);
		break;
	case CFG_CRED_ENV:
		fprintf(out, "%*s# credentials: from the environment%s\n", ind,
		    "", r->session_token && *r->session_token ?
		    ", with a session token" : "");
		break;
	case CFG_CRED_NONE:
		fprintf(out, "%*s# credentials: none in the config or the "
		    "environment\n", ind, "");
		break;
	}
}

static void
print_s3(FILE *out, int ind, const struct cfg_replica *r)
{
	kv_str(out, ind, "bucket", r->bucket);
	kv_str(out, ind, "region", r->region);
	kv_str(out, ind, "endpoint", r->endpoint);
	kv_bool(out, ind, "force-path-style", r->force_path_style);
	kv_bool(out, ind, "skip-verify", r->skip_verify);
	print_creds(out, ind, r);
	if (r->sse != CFG_SSE_NONE)
		kv_str(out, ind, "sse",
		    r->sse == CFG_SSE_KMS ? "aws:kms" : "AES256");
	if (r->sse_kms_key_id && *r->sse_kms_key_id)
		kv_str(out, ind, "sse-kms-key-id", r->sse_kms_key_id);
}

static void
print_type_keys(FILE *out, int ind, const struct cfg_replica *r)
{
	switch (r->type) {
	case CFG_REPLICA_FILE:
		break;
	case CFG_REPLICA_S3:
		print_s3(out, ind, r);
		break;
	case CFG_REPLICA_GCS:
		kv_str(out, ind, "bucket", r->bucket);
		break;
	case CFG_REPLICA_ABS:
		kv_str(out, ind, "bucket", r->bucket);
		kv_str(out, ind, "endpoint", r->endpoint);
		kv_str(out, ind, "account-name", r->account_name);
		kv_secret(out, ind, "account-key", r->account_key);
		break;
	case CFG_REPLICA_SFTP:
		kv_str(out, ind, "host", r->host);
		kv_str(out, ind, "user", r->user);
		kv_secret(out, ind, "password", r->password);
		kv_str(out, ind, "key-path", r->key_path);
		break;
	}
}

static void
print_age(FILE *out, int ind, const struct cfg_replica *r)
{
	if (r->age_identities.n == 0 && r->age_recipients.n == 0 &&
	    (r->age_identity_file == NULL || *r->age_identity_file == '\0'))
		return;
	fprintf(out, "%*sage:\n", ind, "");
	fprintf(out, "%*sidentities:%s\n", ind + 2, "",
	    r->age_identities.n ? "" : " []");
	for (size_t i = 0; i < r->age_identities.n; i++)
		fprintf(out, "%*s- " REDACTED "\n", ind + 4, "");
	fprintf(out, "%*srecipients:%s\n", ind + 2, "",
	    r->age_recipients.n ? "" : " []");
	for (size_t i = 0; i < r->age_recipients.n; i++) {
		fprintf(out, "%*s- ", ind + 4, "");
		put_str(out, r->age_recipients.v[i]);
		fputc('\n', out);
	}
	if (r->age_identity_file && *r->age_identity_file)
		kv_str(out, ind + 2, "identity-file", r->age_identity_file);
}

static void
print_replica(FILE *out, const struct cfg_replica *r)
{
	const int ind = 8;

	fprintf(out, "      - name: ");
	put_str(out, r->name);
	fputc('\n', out);
	kv_str(out, ind, "type", cfg_replica_type_name(r->type));
	if (r->url && *r->url) {
		char *red = cfg_url_redact(r->url);
		fprintf(out, "%*s# url: %s\n", ind, "", red);
		cfg_free_secret(red);
	}
	kv_str(out, ind, "path", r->path);
	print_type_keys(out, ind, r);
	kv_dur(out, ind, "retention", r->retention);
	kv_dur(out, ind, "retention-check-interval",
	    r->retention_check_interval);
	kv_dur(out, ind, "sync-interval", r->sync_interval);
	kv_dur(out, ind, "snapshot-interval", r->snapshot_interval);
	kv_dur(out, ind, "validation-interval", r->validation_interval);
	print_age(out, ind, r);
}

static void
print_db(FILE *out, const struct cfg_db *db)
{
	const int ind = 4;

	fprintf(out, "  - path: ");
	put_str(out, db->path);
	fputc('\n', out);
	kv_str(out, ind, "meta-path", db->meta_path);
	kv_dur(out, ind, "monitor-interval", db->monitor_interval);
	kv_dur(out, ind, "checkpoint-interval", db->checkpoint_interval);
	fprintf(out, "%*smin-checkpoint-page-count: %ld\n", ind, "",
	    db->min_checkpoint_page_count);
	fprintf(out, "%*smax-checkpoint-page-count: %ld\n", ind, "",
	    db->max_checkpoint_page_count);
	kv_size(out, ind, "shadow-max-size", db->shadow_max_size);
	kv_size(out, ind, "snapshot-wal-bytes", db->snapshot_wal_bytes);
	fprintf(out, "%*sreplicas:%s\n", ind, "", db->nreplicas ? "" : " []");
	for (size_t i = 0; i < db->nreplicas; i++)
		print_replica(out, &db->replicas[i]);
}

void
cfg_print(const struct cfg *cfg, FILE *out)
{
	kv_str(out, 0, "addr", cfg->addr);
	kv_str(out, 0, "exec", cfg->exec);
	kv_str(out, 0, "user", cfg->user);
	kv_size(out, 0, "shadow-max-size", cfg->shadow_max_size);
	kv_size(out, 0, "snapshot-wal-bytes", cfg->snapshot_wal_bytes);
	kv_str(out, 0, "access-key-id", cfg->access_key_id);
	kv_secret(out, 0, "secret-access-key", cfg->secret_access_key);
	fprintf(out, "logging:\n");
	kv_str(out, 2, "level", cfg->log_level);
	kv_str(out, 2, "type", cfg->log_type);
	kv_bool(out, 2, "stderr", cfg->log_stderr);
	fprintf(out, "dbs:%s\n", cfg->ndbs ? "" : " []");
	for (size_t i = 0; i < cfg->ndbs; i++)
		print_db(out, &cfg->dbs[i]);
}
