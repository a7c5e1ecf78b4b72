/*
 * module_load: finds, loads and checks walship-module.so, and the binary's
 * forwarding functions for what it exports (module.h).
 *
 * Where: beside the binary (the build tree: bin/), then in
 * ../lib/walship/ from the binary's directory (make install). Both come
 * from /proc/self/exe, never from the environment: the module runs with
 * the process's privileges.
 */
#include "module.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "age_client.h"
#include "config.h"
#include "log.h"
#include "s3_replica.h"
#include "upl.h"

static const struct module_ops *ops;

static int
try_load(const char *path, char *err, size_t errlen)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		const char *e = dlerror();
		snprintf(err, errlen, "%s", e ? e : path);
		return -1;
	}
	const struct module_ops *o = dlsym(h, MODULE_OPS_SYMBOL);
	if (o == NULL || o->abi != MODULE_ABI) {
		snprintf(err, errlen, "%s: not a module of this walship "
		    "(interface %d, want %d)", path, o ? o->abi : -1,
		    MODULE_ABI);
		dlclose(h);
		return -1;
	}
	/* Its entries must be its own code: an entry that is the binary's
	 * forwarding function (a module built without hidden symbols)
	 * would call itself for ever. */
	if (o->upl_s3_open == upl_s3_open || o->s3_replica_new ==
	    s3_replica_new || o->digest_sha256 == digest_sha256) {
		snprintf(err, errlen, "%s: its entries resolve to the binary "
		    "(built without -fvisibility=hidden?)", path);
		dlclose(h);
		return -1;
	}
	ops = o; /* never closed: its code runs until exit */
	return 0;
}

static int
load(void)
{
	char exe[PATH_MAX], path[PATH_MAX + 64];
	char err1[PATH_MAX + 600], err2[PATH_MAX + 600];

	if (ops != NULL)
		return 0;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		log_error("cannot load " MODULE_FILE ": where is the binary?",
		    KV_ERR());
		return -1;
	}
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash != NULL)
		*slash = '\0';
	snprintf(path, sizeof(path), "%s/" MODULE_FILE, exe);
	if (access(path, F_OK) == 0 && try_load(path, err1, sizeof(err1)) == 0)
		return 0;
	if (access(path, F_OK) != 0)
		snprintf(err1, sizeof(err1), "%s: not there", path);
	snprintf(path, sizeof(path), "%s/../lib/walship/" MODULE_FILE, exe);
	if (try_load(path, err2, sizeof(err2)) == 0)
		return 0;
	log_error("cannot load " MODULE_FILE ", which S3 replicas and age "
	    "encryption need (make install puts it in PREFIX/lib/walship)",
	    KV_S("beside_binary", err1), KV_S("lib_dir", err2));
	return -1;
}

/* The module's table, loaded on first use; a process that cannot load
 * it cannot do what it was asked: it says why, once, and dies. */
static const struct module_ops *
module(void)
{
	if (ops == NULL && load() < 0)
		fatalx("cannot continue without " MODULE_FILE);
	return ops;
}

static bool
replica_needs_module(const struct cfg_replica *r)
{
	return r->type == CFG_REPLICA_S3 || replica_age_enabled(r);
}

int
module_preload(const struct cfg *cfg, const struct cfg_replica *rep)
{
	bool need = rep != NULL && replica_needs_module(rep);
	for (size_t i = 0; rep == NULL && i < cfg->ndbs; i++)
		for (size_t j = 0; j < cfg->dbs[i].nreplicas; j++)
			need |= replica_needs_module(&cfg->dbs[i].replicas[j]);
	return need ? load() : 0;
}

/* --- forwarding functions, same names and meaning as in the module ------- */

struct replica_client *
s3_replica_new(const struct cfg_replica *r, char *err, size_t errlen)
{
	return module()->s3_replica_new(r, err, errlen);
}

struct replica_client *
age_client_wrap(struct replica_client *inner, const struct cfg_replica *r,
    char *err, size_t errlen)
{
	return module()->age_client_wrap(inner, r, err, errlen);
}

int
replica_age_inline_identity_file(struct cfg_replica *r, char *err,
    size_t errlen)
{
	/* Nothing to read: no need for the module. */
	if (r->age_identity_file == NULL || *r->age_identity_file == '\0')
		return 0;
	return module()->replica_age_inline_identity_file(r, err, errlen);
}

int
upl_s3_open(struct upl *u, char *err, size_t errlen)
{
	return module()->upl_s3_open(u, err, errlen);
}

void
upl_s3_close(struct upl *u)
{
	if (u->s3 != NULL)
		module()->upl_s3_close(u);
}

int
upl_s3_put(struct upl *u, const struct upl_step *s, enum upl_fault *fault,
    char *err, size_t errlen)
{
	return module()->upl_s3_put(u, s, fault, err, errlen);
}

int
upl_s3_find_position(struct upl *u, const char *gen,
    const struct position *file, char *err, size_t errlen)
{
	return module()->upl_s3_find_position(u, gen, file, err, errlen);
}

const char *
upl_s3_obj_name(const struct upl *u, const struct replica_obj *o, char *buf,
    size_t len)
{
	return module()->upl_s3_obj_name(u, o, buf, len);
}

const struct s3client_stats *
upl_s3_stats(const struct upl *u)
{
	return module()->upl_s3_stats(u);
}

void
digest_sha256(const void *data, size_t len, uint8_t out[32])
{
	module()->digest_sha256(data, len, out);
}
