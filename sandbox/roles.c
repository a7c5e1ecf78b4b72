/*
 * roles: the table of what each process role may use, and the Landlock
 * rules it turns into for one database and replica.
 *
 * Every role also gets the runtime directory (its ipc:// endpoints),
 * /dev/null, /dev/urandom and its own /proc/self (sanitizers read
 * /proc/self/maps); sanitizer builds also read the binary and the shared
 * libraries, to symbolize a report. Only roles with network also read the
 * files TLS and name resolution need: CA certificates, resolv.conf, hosts,
 * nsswitch.conf, and /usr/lib for the NSS modules and OpenSSL providers
 * that glibc and OpenSSL load on first use.
 */
#include "sandbox.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static const struct sandbox_role roles[] = {
	{ "walreader", SANDBOX_ANY_REPLICA, SANDBOX_DB_DIR | SANDBOX_META_RW,
	    SECCOMP_NET_LOCAL, SANDBOX_CREDS_NONE },
	{ "uploader", CFG_REPLICA_FILE, SANDBOX_META_RO | SANDBOX_STATE |
	    SANDBOX_REPLICA_DIR, SECCOMP_NET_LOCAL, SANDBOX_CREDS_NONE },
	{ "uploader", CFG_REPLICA_S3, SANDBOX_META_RO | SANDBOX_STATE |
	    SANDBOX_NET_FILES, SECCOMP_NET_INET, SANDBOX_CREDS_OWN },
	{ "compactor", SANDBOX_ANY_REPLICA, SANDBOX_ALL_REPLICAS |
	    SANDBOX_ALL_STATE | SANDBOX_NET_FILES, SECCOMP_NET_INET,
	    SANDBOX_CREDS_ALL },
};

static const char *const net_files[] = {
	"/etc/ssl", "/etc/ca-certificates", "/etc/pki",
	"/usr/share/ca-certificates", "/usr/lib/ssl", "/etc/resolv.conf",
	"/etc/hosts", "/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf",
	"/etc/services", "/etc/protocols", "/usr/lib", "/lib",
};

size_t
sandbox_role_count(void)
{
	return sizeof(roles) / sizeof(roles[0]);
}

const struct sandbox_role *
sandbox_role_at(size_t i)
{
	return i < sandbox_role_count() ? &roles[i] : NULL;
}

const struct sandbox_role *
sandbox_role_find(const char *name, const struct cfg_replica *rep)
{
	for (size_t i = 0; i < sandbox_role_count(); i++) {
		const struct sandbox_role *r = &roles[i];
		if (strcmp(r->name, name) != 0)
			continue;
		if (r->replica_type == SANDBOX_ANY_REPLICA ||
		    (rep != NULL && (int)rep->type == r->replica_type))
			return r;
	}
	return NULL;
}

/* A rule for PATH followed by SUFFIX ("" or "/name"). */
static int
add(struct sandbox_rules *out, enum landlock_access access, bool optional,
    bool create, char *err, size_t errlen, const char *path,
    const char *suffix)
{
	struct landlock_rule *r;

	if (out->n == SANDBOX_MAX_RULES) {
		snprintf(err, errlen, "more than %d sandbox rules",
		    SANDBOX_MAX_RULES);
		return -1;
	}
	r = &out->v[out->n];
	if ((size_t)snprintf(r->path, sizeof(r->path), "%s%s", path,
	    suffix) >= sizeof(r->path)) {
		snprintf(err, errlen, "path too long: %s%s", path, suffix);
		return -1;
	}
	r->access = access;
	r->optional = optional;
	out->create[out->n++] = create;
	return 0;
}

#define ADD(access, optional, create, path) \
	add(out, (access), (optional), (create), err, errlen, (path), "")

/* The directory of PATH ("/" for a file at the root). */
static int
add_dir_of(struct sandbox_rules *out, const char *path, bool optional,
    char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];

	if (slash == NULL || (size_t)(slash - path) >= sizeof(dir)) {
		snprintf(err, errlen, "not an absolute path: %s", path);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	return ADD(LANDLOCK_WRITE, optional, false, dir[0] ? dir : "/");
}

static int
add_base(struct sandbox_rules *out, const struct sandbox_target *t,
    char *err, size_t errlen)
{
	if (ADD(LANDLOCK_WRITE, false, false, t->rundir) < 0 ||
	    ADD(LANDLOCK_WRITE, false, false, "/dev/null") < 0 ||
	    ADD(LANDLOCK_READ, true, false, "/dev/urandom") < 0 ||
	    ADD(LANDLOCK_READ, true, false, "/proc/self") < 0)
		return -1;
#if defined(__SANITIZE_ADDRESS__)
	if (ADD(LANDLOCK_READ, true, false, t->exe != NULL ? t->exe :
	    "/proc/self/exe") < 0 || ADD(LANDLOCK_READ, true, false,
	    "/usr/lib") < 0 || ADD(LANDLOCK_READ, true, false, "/lib") < 0)
		return -1;
#endif
	return 0;
}

static int
add_db_areas(struct sandbox_rules *out, unsigned areas,
    const struct sandbox_target *t, char *err, size_t errlen)
{
	char real[PATH_MAX];

	if (t->db == NULL)	/* the compactor: no database of its own */
		return 0;
	const char *meta = t->db->meta_path;

	if ((areas & SANDBOX_DB_DIR) &&
	    add_dir_of(out, t->db->path, false, err, errlen) < 0)
		return -1;
	/* A database reached through a symlink lives where the link points. */
	if ((areas & SANDBOX_DB_DIR) && realpath(t->db->path, real) != NULL &&
	    strcmp(real, t->db->path) != 0 &&
	    add_dir_of(out, real, true, err, errlen) < 0)
		return -1;
	if ((areas & SANDBOX_META_RW) &&
	    ADD(LANDLOCK_WRITE, false, true, meta) < 0)
		return -1;
	if ((areas & SANDBOX_META_RO) &&
	    ADD(LANDLOCK_READ, false, true, meta) < 0)
		return -1;
	if ((areas & SANDBOX_STATE) && add(out, LANDLOCK_WRITE, false, true,
	    err, errlen, meta, "/walship") < 0)
		return -1;
	return 0;
}

static int
add_replica_areas(struct sandbox_rules *out, unsigned areas,
    const struct sandbox_target *t, char *err, size_t errlen)
{
	const struct cfg *cfg = t->cfg;

	if ((areas & SANDBOX_REPLICA_DIR) && t->rep->type == CFG_REPLICA_FILE &&
	    ADD(LANDLOCK_WRITE, false, true, t->rep->path) < 0)
		return -1;
	for (size_t i = 0; (areas & SANDBOX_ALL_REPLICAS) && i < cfg->ndbs;
	    i++) {
		for (size_t j = 0; j < cfg->dbs[i].nreplicas; j++) {
			const struct cfg_replica *r = &cfg->dbs[i].replicas[j];
			/* Made now if its uploader has not yet: a rule
			 * needs the directory to exist. */
			if (r->type == CFG_REPLICA_FILE &&
			    ADD(LANDLOCK_WRITE, false, true, r->path) < 0)
				return -1;
		}
	}
	/* The compactor reads the uploaders' positions and the walreader's
	 * snapshots, and restores validation copies under META/walship. */
	for (size_t i = 0; (areas & SANDBOX_ALL_STATE) && i < cfg->ndbs;
	    i++) {
		const char *meta = cfg->dbs[i].meta_path;
		if (ADD(LANDLOCK_READ, false, true, meta) < 0 ||
		    add(out, LANDLOCK_WRITE, false, true, err, errlen, meta,
		    "/walship") < 0)
			return -1;
	}
	for (size_t i = 0; (areas & SANDBOX_NET_FILES) &&
	    i < sizeof(net_files) / sizeof(net_files[0]); i++) {
		if (ADD(LANDLOCK_READ, true, false, net_files[i]) < 0)
			return -1;
	}
	return 0;
}

int
sandbox_rules_build(const struct sandbox_role *role,
    const struct sandbox_target *t, struct sandbox_rules *out, char *err,
    size_t errlen)
{
	const unsigned db_areas = SANDBOX_DB_DIR | SANDBOX_META_RW |
	    SANDBOX_META_RO | SANDBOX_STATE;

	/* Only what is used is written: the path buffers are large. */
	out->n = 0;
	memset(out->create, 0, sizeof(out->create));
	if (t->rundir == NULL || t->rundir[0] != '/') {
		snprintf(err, errlen, "runtime directory must be absolute");
		return -1;
	}
	if ((role->areas & db_areas) && t->db == NULL) {
		snprintf(err, errlen, "role %s needs a database", role->name);
		return -1;
	}
	if ((role->areas & SANDBOX_REPLICA_DIR) && t->rep == NULL) {
		snprintf(err, errlen, "role %s needs a replica", role->name);
		return -1;
	}
	if (add_base(out, t, err, errlen) < 0 ||
	    add_db_areas(out, role->areas, t, err, errlen) < 0 ||
	    add_replica_areas(out, role->areas, t, err, errlen) < 0)
		return -1;
	return 0;
}

bool
sandbox_rules_cover(const struct sandbox_rules *rules, const char *path)
{
	for (size_t i = 0; i < rules->n; i++) {
		const char *p = rules->v[i].path;
		size_t n = strlen(p);
		while (n > 1 && p[n - 1] == '/')
			n--;
		if (strncmp(path, p, n) == 0 && (path[n] == '\0' ||
		    path[n] == '/' || (n == 1 && p[0] == '/')))
			return true;
	}
	return false;
}
