/*
 * config: loading a config file the way Litestream v0.3.13 does, into a
 * validated struct cfg.
 *
 * Pipeline: read the file (at most CFG_TEXT_MAX bytes), expand $VAR over
 * the whole text unless expand_env is off, parse it with libyaml's document
 * API (which keeps every node's mark), then parse.c walks the levels and
 * reports every problem it finds. Any error means no config: NULL and the
 * count. A file holding secrets that group or others can read gets a
 * warning (chmod 600), as smtpd refuses such files.
 *
 * Secrets pass through libyaml's buffers, our copies of the text and the
 * struct; every one of those is wiped with explicit_bzero before it is
 * freed. Out of memory is fatal: a config load has nothing to fall back to.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg_int.h"
#include "config.h"
#include "log.h"
#include "module.h"


static const char *const type_names[] = {
	[CFG_REPLICA_FILE] = "file",
	[CFG_REPLICA_S3] = "s3",
	[CFG_REPLICA_GCS] = "gcs",
	[CFG_REPLICA_ABS] = "abs",
	[CFG_REPLICA_SFTP] = "sftp",
};

const char *
cfg_replica_type_name(enum cfg_replica_type type)
{
	if ((size_t)type >= sizeof(type_names) / sizeof(type_names[0]))
		return "unknown";
	return type_names[type];
}

int
cfg_replica_type_parse(const char *name, enum cfg_replica_type *type)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
		if (strcmp(name, type_names[i]) == 0) {
			*type = (enum cfg_replica_type)i;
			return 0;
		}
	}
	return -1;
}

/* --- memory -------------------------------------------------------------- */

void *
cfg_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		fatalx("config: out of memory");
	return p;
}

char *
cfg_xstrndup(const char *s, size_t n)
{
	char *p = cfg_xcalloc(1, n + 1);

	memcpy(p, s, n);
	return p;
}

char *
cfg_xstrdup(const char *s)
{
	return cfg_xstrndup(s, strlen(s));
}

void
cfg_free_secret(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

void
cfg_str_set(char **dst, const char *v)
{
	char *n = v != NULL ? cfg_xstrdup(v) : NULL;

	cfg_free_secret(*dst);
	*dst = n;
}

void
cfg_strlist_free(struct cfg_strlist *l, bool secret)
{
	for (size_t i = 0; i < l->n; i++) {
		if (secret)
			cfg_free_secret(l->v[i]);
		else
			free(l->v[i]);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* --- free ------------------------------------------------------------------ */

void
cfg_replica_clear(struct cfg_replica *r)
{
	char *s[] = { r->name, r->url, r->path, r->access_key_id,
		r->secret_access_key, r->session_token, r->region, r->bucket,
		r->endpoint, r->sse_kms_key_id, r->account_name,
		r->account_key, r->host, r->user, r->password, r->key_path,
		r->age_identity_file };

	/* Everything is wiped: url and name may hold secrets too. */
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		cfg_free_secret(s[i]);
	cfg_strlist_free(&r->age_identities, true);
	cfg_strlist_free(&r->age_recipients, false);
	explicit_bzero(r, sizeof(*r));
}

void
cfg_replica_secrets_digest(const struct cfg_replica *r, unsigned char out[32])
{
	if (r->secrets_dropped) {
		if (!r->digest_kept)
			fatalx("secrets digest asked for after they were "
			    "forgotten without one");
		memcpy(out, r->secrets_digest, 32);
		return;
	}
	const char *s[] = { r->secret_access_key, r->session_token,
		r->account_key, r->password };
	bool any = r->age_identities.n > 0;
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		any |= s[i] != NULL && s[i][0] != '\0';
	/* No secret at all: zeros, without loading the module for the
	 * hash (module/module.h): a config of directory replicas never
	 * needs it. */
	if (!any) {
		memset(out, 0, 32);
		return;
	}
	/* Each value with its terminating NUL (an absent one as a lone
	 * 0x01), so that no two different lists hash alike. */
	size_t total = 0;
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		total += s[i] ? strlen(s[i]) + 1 : 2;
	for (size_t i = 0; i < r->age_identities.n; i++)
		total += strlen(r->age_identities.v[i]) + 1;
	char *buf = malloc(total), *p = buf;
	if (buf == NULL)
		fatalx("out of memory");
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		size_t n = s[i] ? strlen(s[i]) + 1 : 2;
		memcpy(p, s[i] ? s[i] : "\1", n);
		p += n;
	}
	for (size_t i = 0; i < r->age_identities.n; i++) {
		size_t n = strlen(r->age_identities.v[i]) + 1;
		memcpy(p, r->age_identities.v[i], n);
		p += n;
	}
	digest_sha256(buf, total, out);
	explicit_bzero(buf, total);
	free(buf);
}

void
cfg_drop_secrets(struct cfg *cfg)
{
	for (size_t i = 0; i < cfg->ndbs; i++)
		for (size_t j = 0; j < cfg->dbs[i].nreplicas; j++) {
			struct cfg_replica *r = &cfg->dbs[i].replicas[j];
			if (!r->secrets_dropped) {
				cfg_replica_secrets_digest(r,
				    r->secrets_digest);
				r->digest_kept = true;
			}
		}
	cfg_forget_secrets(cfg, NULL, false);
}

void
cfg_free(struct cfg *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->ndbs; i++) {
		struct cfg_db *db = &cfg->dbs[i];
		for (size_t j = 0; j < db->nreplicas; j++)
			cfg_replica_clear(&db->replicas[j]);
		free(db->replicas);
		free(db->path);
		free(db->meta_path);
	}
	free(cfg->dbs);
	char *s[] = { cfg->file, cfg->addr, cfg->exec, cfg->access_key_id,
		cfg->secret_access_key, cfg->log_level, cfg->log_type,
		cfg->user };
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		cfg_free_secret(s[i]);
	explicit_bzero(cfg, sizeof(*cfg));
	free(cfg);
}

/* --- secrets a process does not need --------------------------------------- */

/* Every secret field of R replaced by "" (wiped first). The access key
 * id is an identifier, not a secret: it stays, as in S3's own error
 * messages. */
static void
replica_forget_secrets(struct cfg_replica *r)
{
	char **s[] = { &r->secret_access_key, &r->session_token,
		&r->account_key, &r->password };

	r->secrets_dropped = true;

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		cfg_str_set(s[i], "");
	cfg_strlist_free(&r->age_identities, true);
}

void
cfg_forget_secrets(struct cfg *cfg, const struct cfg_replica *keep,
    bool keep_all)
{
	if (keep_all)
		return;
	for (size_t i = 0; i < cfg->ndbs; i++) {
		struct cfg_db *db = &cfg->dbs[i];
		for (size_t j = 0; j < db->nreplicas; j++) {
			if (&db->replicas[j] != keep)
				replica_forget_secrets(&db->replicas[j]);
		}
	}
	cfg_str_set(&cfg->secret_access_key, "");
}

/* --- load ------------------------------------------------------------------ */

static void
yaml_syntax_error(struct cfg_ctx *c, const yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "cannot parse";
	char text[512];

	c->nerrors++;
	if (p->error == YAML_READER_ERROR) {
		snprintf(text, sizeof(text), "yaml: %s at byte %zu", problem,
		    p->problem_offset);
		cfg_msg_add(c, 0, 0, "", text);
		return;
	}
	if (p->context != NULL)
		snprintf(text, sizeof(text), "yaml: %s (%s at line %zu)",
		    problem, p->context, p->context_mark.line + 1);
	else
		snprintf(text, sizeof(text), "yaml: %s", problem);
	cfg_msg_add(c, p->problem_mark.line + 1, p->problem_mark.column + 1, "",
	    text);
}

/* libyaml frees without wiping: wipe its copies of the text first. */
static void
yaml_wipe(yaml_parser_t *p, yaml_document_t *doc)
{
	if (doc != NULL) {
		for (yaml_node_t *n = doc->nodes.start; n < doc->nodes.top; n++)
			if (n->type == YAML_SCALAR_NODE)
				explicit_bzero(n->data.scalar.value,
				    n->data.scalar.length);
	}
	if (p->buffer.start != NULL)
		explicit_bzero(p->buffer.start,
		    (size_t)(p->buffer.end - p->buffer.start));
	if (p->raw_buffer.start != NULL)
		explicit_bzero(p->raw_buffer.start,
		    (size_t)(p->raw_buffer.end - p->raw_buffer.start));
}

static void
parse_text(struct cfg_ctx *c)
{
	yaml_parser_t p;
	yaml_document_t doc;

	if (!yaml_parser_initialize(&p))
		fatalx("config: out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)c->text, c->len);
	if (!yaml_parser_load(&p, &doc)) {
		yaml_syntax_error(c, &p);
		yaml_wipe(&p, NULL);
		yaml_parser_delete(&p);
		return;
	}
	c->doc = &doc;
	cfg_parse_root(c, yaml_document_get_root_node(&doc));
	c->doc = NULL;
	yaml_wipe(&p, &doc);
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
}

static struct cfg *
load(const char *name, const char *text, size_t len, bool expand_env,
    FILE *errs, int *nerrors, bool *has_secrets)
{
	struct cfg_ctx c = { .name = name, .errs = errs };
	struct cfg_span *spans = NULL;
	char *exp = NULL;
	size_t elen = 0;

	c.cfg = cfg_xcalloc(1, sizeof(*c.cfg));
	c.cfg->file = cfg_xstrdup(name);
	c.cfg->user = cfg_xstrdup(CFG_DEFAULT_USER);
	c.cfg->shadow_max_size = CFG_DEFAULT_SHADOW_MAX_SIZE;
	c.cfg->snapshot_wal_bytes = CFG_DEFAULT_SNAPSHOT_WAL_BYTES;
	if (len > CFG_TEXT_MAX) {
		cfg_error(&c, NULL, NULL, "file is larger than %u bytes",
		    CFG_TEXT_MAX);
	} else {
		c.text = text;
		c.len = len;
		if (expand_env) {
			exp = cfg_expand_env_spans(text, len, &elen, &spans,
			    &c.nspans);
			c.text = exp;
			c.len = elen;
			c.spans = spans;
			c.expanded = true;
		}
		parse_text(&c);
	}
	if (exp != NULL) {
		explicit_bzero(exp, elen);
		free(exp);
	}
	free(spans);
	cfg_flush(&c);
	*has_secrets = c.cfg->has_secrets;
	if (nerrors != NULL)
		*nerrors = c.nerrors;
	if (c.nerrors > 0) {
		cfg_free(c.cfg);
		return NULL;
	}
	return c.cfg;
}

struct cfg *
cfg_load_text(const char *name, const char *text, size_t len,
    bool expand_env, FILE *errs, int *nerrors)
{
	bool secrets;

	return load(name, text, len, expand_env, errs, nerrors, &secrets);
}

/* Reads all of FD (at most CFG_TEXT_MAX + 1 bytes). */
static char *
read_all(int fd, size_t *len)
{
	size_t cap = 8192, n = 0;
	char *buf = cfg_xcalloc(1, cap);

	for (;;) {
		if (n == cap) {
			if (cap > CFG_TEXT_MAX)
				break;
			char *nb = cfg_xcalloc(1, cap * 2);
			memcpy(nb, buf, n);
			explicit_bzero(buf, cap);
			free(buf);
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			explicit_bzero(buf, cap);
			free(buf);
			errno = e;
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return buf;
}

struct cfg *
cfg_load(const char *file, bool expand_env, FILE *errs, int *nerrors)
{
	struct stat st;
	char *path = file[0] == '~' ? cfg_abs_path(file) : cfg_xstrdup(file);
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	size_t len = 0;
	char *text = NULL;
	bool secrets = false;

	free(path);
	if (fd < 0 || fstat(fd, &st) < 0 ||
	    (text = read_all(fd, &len)) == NULL) {
		if (errs != NULL)
			fprintf(errs, "%s: cannot read: %s\n", file,
			    strerror(errno));
		if (fd >= 0)
			close(fd);
		if (nerrors != NULL)
			*nerrors = 1;
		return NULL;
	}
	close(fd);
	struct cfg *cfg = load(file, text, len, expand_env, errs, nerrors,
	    &secrets);
	explicit_bzero(text, len);
	free(text);
	if (secrets && S_ISREG(st.st_mode) &&
	    (st.st_mode & (S_IRGRP | S_IROTH)) != 0 && errs != NULL)
		fprintf(errs, "%s: warning: file contains secrets and is "
		    "readable by others; fix with: chmod 600 %s\n", file, file);
	return cfg;
}

/* --- lookups ---------------------------------------------------------------- */

struct cfg_db *
cfg_find_db(const struct cfg *cfg, const char *path)
{
	char *abs = cfg_abs_path(path);
	struct cfg_db *found = NULL;

	if (abs == NULL)
		return NULL;
	for (size_t i = 0; i < cfg->ndbs && found == NULL; i++)
		if (strcmp(cfg->dbs[i].path, abs) == 0)
			found = &cfg->dbs[i];
	free(abs);
	return found;
}

const char *
cfg_default_path(void)
{
	const char *v;

	if ((v = getenv("WALSHIP_CONFIG")) != NULL && *v != '\0')
		return v;
	if ((v = getenv("LITESTREAM_CONFIG")) != NULL && *v != '\0')
		return v;
	if (access("/etc/walship.yml", F_OK) == 0)
		return "/etc/walship.yml";
	return "/etc/litestream.yml";
}
