/*
 * age_client: see age_client.h. Listings, keys and deletes go straight
 * to the wrapped client; open and create put the age layer (age/age.h)
 * between the caller and the object's bytes.
 *
 * Restore reads objects from several threads, so the identities are
 * loaded once under a mutex, then only read.
 */
#include "age_client.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "age.h"
#include "client.h"
#include "config.h"

struct age_client {
	struct replica_client base;
	struct replica_client *inner;
	const struct cfg_replica *cfg;
	pthread_mutex_t mu;
	bool loaded;		/* identities tried (keys final after) */
	int load_errno;
	char load_err[600];
	struct age_keys keys;
};

int
replica_age_keys(const struct cfg_replica *r, bool with_identities,
    struct age_keys *k, char *err, size_t errlen)
{
	char why[400];

	memset(k, 0, sizeof(*k));
	for (size_t i = 0; i < r->age_recipients.n; i++)
		if (age_keys_add_recipient(k, r->age_recipients.v[i], why,
		    sizeof(why)) < 0) {
			snprintf(err, errlen, "replica %s: age.recipients[%zu]: "
			    "%s", r->name, i, why);
			goto fail;
		}
	bool ids = with_identities || r->age_recipients.n == 0;
	for (size_t i = 0; ids && i < r->age_identities.n; i++)
		if (age_keys_add_identity(k, r->age_identities.v[i], why,
		    sizeof(why)) < 0) {
			snprintf(err, errlen, "replica %s: age.identities[%zu]: "
			    "%s", r->name, i, why);
			goto fail;
		}
	if (ids && r->age_identity_file != NULL &&
	    *r->age_identity_file != '\0' &&
	    age_keys_load_file(k, r->age_identity_file, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "replica %s: %s", r->name, why);
		goto fail;
	}
	if (r->age_recipients.n == 0 &&
	    age_keys_recipients_from_identities(k) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return 0;
fail:
	age_keys_clear(k);
	errno = EINVAL;
	return -1;
}

/* One identity line of a key file, checked, appended to the replica's
 * age.identities. */
static int
inline_line(const char *line, void *arg, char *why, size_t whylen)
{
	struct cfg_replica *r = arg;
	struct age_keys k;
	char **v;

	memset(&k, 0, sizeof(k));
	int rc = age_keys_add_identity(&k, line, why, whylen);
	age_keys_clear(&k);
	if (rc < 0)
		return -1;
	if ((v = realloc(r->age_identities.v, (r->age_identities.n + 1) *
	    sizeof(*v))) == NULL || (v[r->age_identities.n] = strdup(line)) ==
	    NULL) {
		if (v != NULL)
			r->age_identities.v = v;
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	r->age_identities.v = v;
	r->age_identities.n++;
	return 0;
}

int
replica_age_inline_identity_file(struct cfg_replica *r, char *err,
    size_t errlen)
{
	char why[512];

	if (r->age_identity_file == NULL || *r->age_identity_file == '\0')
		return 0;
	if (age_keys_file_each(r->age_identity_file, inline_line, r, why,
	    sizeof(why)) < 0) {
		snprintf(err, errlen, "replica %s: %s", r->name, why);
		return -1;
	}
	free(r->age_identity_file);
	r->age_identity_file = NULL;
	return 0;
}

/* Loads the identities once. 0, or -1 with ERR. */
static int
need_identities(struct age_client *a, char *err, size_t errlen)
{
	int rc;

	pthread_mutex_lock(&a->mu);
	if (!a->loaded) {
		struct age_keys k;
		if (replica_age_keys(a->cfg, true, &k, a->load_err,
		    sizeof(a->load_err)) < 0) {
			a->load_errno = errno;
		} else {
			age_keys_clear(&a->keys);
			a->keys = k;
		}
		a->loaded = true;
	}
	rc = a->load_errno ? -1 : 0;
	if (rc < 0) {
		snprintf(err, errlen, "%s", a->load_err);
		errno = a->load_errno;
	}
	pthread_mutex_unlock(&a->mu);
	return rc;
}

/* ---- reading ---------------------------------------------------------- */

struct age_obj_reader {
	struct replica_reader base;
	struct replica_reader *inner;
	struct age_reader *age;
};

static ssize_t
inner_source(void *arg, void *buf, size_t len)
{
	struct replica_reader *r = arg;
	return r->read(r, buf, len);
}

static ssize_t
obj_read(struct replica_reader *rr, void *buf, size_t len)
{
	struct age_obj_reader *r = (struct age_obj_reader *)rr;
	ssize_t n = age_read(r->age, buf, len);

	if (n < 0) {
		int e = errno;
		/* The storage's own words when reading it failed. */
		snprintf(rr->err, sizeof(rr->err), "%s", r->inner->err[0] ?
		    r->inner->err : age_reader_error(r->age));
		errno = e;
	}
	return n;
}

static void
obj_close(struct replica_reader *rr)
{
	struct age_obj_reader *r = (struct age_obj_reader *)rr;

	age_reader_free(r->age);
	r->inner->close(r->inner);
	free(r);
}

static struct replica_reader *
ac_open(struct replica_client *c, const struct replica_obj *o, char *err,
    size_t errlen)
{
	struct age_client *a = (struct age_client *)c;
	struct age_obj_reader *r;
	char key[512];

	if (need_identities(a, err, errlen) < 0)
		return NULL;
	if (a->keys.nids == 0) {
		snprintf(err, errlen, "%s: replica %s has age recipients but "
		    "no identity (age.identities or age.identity-file): its "
		    "objects cannot be decrypted", replica_key(a->inner, o,
		    key, sizeof(key)), c->name);
		errno = ENOKEY;
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((r->inner = replica_open(a->inner, o, err, errlen)) == NULL) {
		free(r);
		return NULL;
	}
	if ((r->age = age_reader_new(&a->keys, inner_source, r->inner)) ==
	    NULL) {
		snprintf(err, errlen, "out of memory");
		r->inner->close(r->inner);
		free(r);
		errno = ENOMEM;
		return NULL;
	}
	r->base.read = obj_read;
	r->base.close = obj_close;
	return &r->base;
}

/* ---- writing ---------------------------------------------------------- */

struct age_obj_writer {
	struct replica_writer base;
	struct replica_writer *inner;
	struct age_writer *age;
};

static int
inner_sink(void *arg, const void *buf, size_t len)
{
	struct replica_writer *w = arg;
	return w->write(w, buf, len);
}

static int
obj_write(struct replica_writer *ww, const void *buf, size_t len)
{
	struct age_obj_writer *w = (struct age_obj_writer *)ww;

	if (age_write(w->age, buf, len) < 0) {
		int e = errno;
		snprintf(ww->err, sizeof(ww->err), "%s", w->inner->err[0] ?
		    w->inner->err : age_writer_error(w->age));
		errno = e;
		return -1;
	}
	return 0;
}

static void
obj_abort(struct replica_writer *ww)
{
	struct age_obj_writer *w = (struct age_obj_writer *)ww;

	age_writer_free(w->age);
	w->inner->abort(w->inner);
	free(w);
}

static int
obj_commit(struct replica_writer *ww, char *err, size_t errlen)
{
	struct age_obj_writer *w = (struct age_obj_writer *)ww;
	struct replica_writer *inner = w->inner;

	if (age_writer_finish(w->age) < 0) {
		int e = errno;
		snprintf(err, errlen, "%s", inner->err[0] ? inner->err :
		    age_writer_error(w->age));
		obj_abort(ww);
		errno = e;
		return -1;
	}
	age_writer_free(w->age);
	free(w);
	return inner->commit(inner, err, errlen);
}

static struct replica_writer *
ac_create(struct replica_client *c, const struct replica_obj *o, char *err,
    size_t errlen)
{
	struct age_client *a = (struct age_client *)c;
	struct age_obj_writer *w;

	if (a->keys.nrcpts == 0 && need_identities(a, err, errlen) < 0)
		return NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((w->inner = replica_create(a->inner, o, err, errlen)) == NULL) {
		free(w);
		return NULL;
	}
	if ((w->age = age_writer_new(&a->keys, inner_sink, w->inner, err,
	    errlen)) == NULL) {
		int e = errno;
		w->inner->abort(w->inner);
		free(w);
		errno = e;
		return NULL;
	}
	w->base.write = obj_write;
	w->base.commit = obj_commit;
	w->base.abort = obj_abort;
	return &w->base;
}

/* ---- the rest goes through ---------------------------------------------- */

#define INNER(c) (((struct age_client *)(c))->inner)

static int
ac_generations(struct replica_client *c, struct replica_generation **out,
    size_t *n, char *err, size_t errlen)
{
	return INNER(c)->ops->generations(INNER(c), out, n, err, errlen);
}

static int
ac_snapshots(struct replica_client *c, const char *gen,
    struct replica_snapshot **out, size_t *n, char *err, size_t errlen)
{
	return INNER(c)->ops->snapshots(INNER(c), gen, out, n, err, errlen);
}

static int
ac_wal_segments(struct replica_client *c, const char *gen,
    struct replica_wal_segment **out, size_t *n, char *err, size_t errlen)
{
	return INNER(c)->ops->wal_segments(INNER(c), gen, out, n, err,
	    errlen);
}

static int
ac_key(struct replica_client *c, const struct replica_obj *o, char *buf,
    size_t len)
{
	return INNER(c)->ops->key(INNER(c), o, buf, len);
}

static int
ac_remove(struct replica_client *c, const struct replica_obj *o, char *err,
    size_t errlen)
{
	return INNER(c)->ops->remove(INNER(c), o, err, errlen);
}

static int
ac_remove_many(struct replica_client *c, const struct replica_obj *objs,
    size_t n, char *err, size_t errlen)
{
	return INNER(c)->ops->remove_many(INNER(c), objs, n, err, errlen);
}

static int
ac_remove_generation(struct replica_client *c, const char *gen, char *err,
    size_t errlen)
{
	return INNER(c)->ops->remove_generation(INNER(c), gen, err, errlen);
}

static void
ac_free(struct replica_client *c)
{
	struct age_client *a = (struct age_client *)c;

	replica_client_free(a->inner);
	age_keys_clear(&a->keys);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

static const struct replica_client_ops age_client_ops = {
	.generations = ac_generations,
	.snapshots = ac_snapshots,
	.wal_segments = ac_wal_segments,
	.key = ac_key,
	.open = ac_open,
	.create = ac_create,
	.remove = ac_remove,
	.remove_many = ac_remove_many,
	.remove_generation = ac_remove_generation,
	.free = ac_free,
};

struct replica_client *
age_client_wrap(struct replica_client *inner, const struct cfg_replica *r,
    char *err, size_t errlen)
{
	struct age_client *a = calloc(1, sizeof(*a));

	if (a == NULL) {
		snprintf(err, errlen, "out of memory");
		replica_client_free(inner);
		return NULL;
	}
	/* Recipients now (public, and a bad one should fail early). */
	if (replica_age_keys(r, false, &a->keys, err, errlen) < 0) {
		replica_client_free(inner);
		free(a);
		return NULL;
	}
	pthread_mutex_init(&a->mu, NULL);
	a->inner = inner;
	a->cfg = r;
	a->base.ops = &age_client_ops;
	a->base.type = inner->type;
	a->base.name = inner->name;
	return &a->base;
}
