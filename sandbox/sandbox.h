/*
 * sandbox: what a process role gives up before it touches its work, in one
 * call, sandbox_enter(), made by each role after it has read the config and
 * before it creates any thread (nanomsg sockets, curl handles): Landlock
 * and seccomp apply to the calling thread and to threads started later,
 * never to those that already exist.
 *
 * The order (style.md, "Dropping privileges on Linux"):
 *   1. wipe the secrets of the config the role does not use (an uploader
 *      keeps its own replica's keys, the walreader none), then the
 *      environment (its strings are zeroed, so /proc/PID/environ shows
 *      nothing either);
 *   2. if root, become the service user (privdrop.h), re-arm the parent
 *      death signal and check the supervisor is still there;
 *   3. a role holding credentials becomes non-dumpable, with no core files;
 *   4. create the directories the role owns (meta dir, META/walship), so
 *      that they can be named in rules;
 *   5. PR_SET_NO_NEW_PRIVS (mandatory), Landlock (best effort: a kernel
 *      without it gets a warning), the seccomp filter (mandatory).
 * A failed mandatory step is fatal: the supervisor restarts the role.
 *
 * Which files each role may use is a table (roles.c): a row names the
 * role, the replica type it serves, the areas of the file system it uses
 * and its network class. A new role (the compactor) is one row.
 */
#ifndef WALSHIP_SANDBOX_H
#define WALSHIP_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "landlock.h"
#include "seccomp_policy.h"

struct cfg;
struct cfg_db;
struct cfg_replica;

/* Parts of the file system a role may use (Landlock rules). */
enum sandbox_area {
	SANDBOX_DB_DIR = 1 << 0,	/* rw: the database's directory */
	SANDBOX_META_RW = 1 << 1,	/* rw: the meta dir (shadow log) */
	SANDBOX_META_RO = 1 << 2,	/* ro: the meta dir */
	SANDBOX_STATE = 1 << 3,		/* rw: META/walship (positions, spool) */
	SANDBOX_REPLICA_DIR = 1 << 4,	/* rw: this replica's dir (file) */
	SANDBOX_ALL_REPLICAS = 1 << 5,	/* rw: every file replica's dir */
	SANDBOX_NET_FILES = 1 << 6,	/* ro: CA certificates, resolver */
	SANDBOX_ALL_STATE = 1 << 7,	/* every database's meta dir (ro) and
					   META/walship (rw) */
};

/* Which secrets of the config a role keeps. */
enum sandbox_creds {
	SANDBOX_CREDS_NONE = 0,
	SANDBOX_CREDS_OWN,		/* its own replica's */
	SANDBOX_CREDS_ALL,		/* every replica's */
};

/* Any replica type, in a row of the table. */
#define SANDBOX_ANY_REPLICA (-1)

struct sandbox_role {
	const char *name;		/* walreader, uploader, compactor */
	int replica_type;		/* enum cfg_replica_type, or ANY */
	unsigned areas;			/* enum sandbox_area bits */
	enum seccomp_net net;
	enum sandbox_creds creds;
};

/* What a role's rules are made from. */
struct sandbox_target {
	struct cfg *cfg;
	const struct cfg_db *db;	/* NULL for the compactor */
	const struct cfg_replica *rep;	/* an uploader's replica, else NULL */
	const char *rundir;		/* the ipc:// endpoints' directory */
	const char *exe;		/* this binary (read by sanitizers);
					   NULL: /proc/self/exe */
};

#define SANDBOX_MAX_RULES 64

struct sandbox_rules {
	struct landlock_rule v[SANDBOX_MAX_RULES];
	bool create[SANDBOX_MAX_RULES];	/* made (mkdir -p) before confining */
	size_t n;
};

/* The row for role NAME serving REP (NULL for roles without a replica),
 * or NULL if there is none. */
const struct sandbox_role *sandbox_role_find(const char *name,
    const struct cfg_replica *rep);

/* The number of rows, and row I (for tests and the self-test). */
size_t sandbox_role_count(void);
const struct sandbox_role *sandbox_role_at(size_t i);

/*
 * The Landlock rules of ROLE for T into OUT. 0, or -1 with ERR filled in
 * (a path too long, too many rules, an area the target lacks).
 */
int sandbox_rules_build(const struct sandbox_role *role,
    const struct sandbox_target *t, struct sandbox_rules *out, char *err,
    size_t errlen);

/* Whether PATH lies in one of the hierarchies of RULES. */
bool sandbox_rules_cover(const struct sandbox_rules *rules, const char *path);

/*
 * The steps above for role NAME (see sandbox_role_find). Returns the
 * Landlock ABI enforced (0: none); fatal on any mandatory failure.
 */
int sandbox_enter(const char *name, const struct sandbox_target *t);

/*
 * Zeroes every environment string and empties the environment; with
 * KEEP_PROXY the proxy variables libcurl reads (https_proxy, no_proxy ...)
 * are set again afterwards.
 */
void sandbox_env_clean(bool keep_proxy);

#endif
