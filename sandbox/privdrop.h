/*
 * privdrop: switching a child process from root to the service user, and
 * proving the switch cannot be undone.
 *
 * Who a child runs as (config key user:, default "walship"):
 *   - not started as root: stays who it is, user: is not consulted;
 *   - root, user: names an account with uid 0 (user: root): stays root, by
 *     explicit request only (the default "walship" never means root);
 *   - root, user: names another account: becomes that account, with its
 *     supplementary groups (initgroups: a group may be what grants access
 *     to the database), then its gid, then its uid;
 *   - root, user: names no account: an error, nothing runs.
 */
#ifndef WALSHIP_PRIVDROP_H
#define WALSHIP_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct privdrop_user {
	char name[64];
	uid_t uid;
	gid_t gid;
	bool switch_ids;	/* root now, and the user is not root */
};

/*
 * Resolves NAME against the password database for the rules above. 0, or
 * -1 with ERR saying what is wrong and how to fix it.
 */
int privdrop_resolve(const char *name, struct privdrop_user *pu, char *err,
    size_t errlen);

/*
 * Does the switch PU asks for (nothing when !PU->switch_ids): groups, gid,
 * uid, then privdrop_verify(). 0, or -1 with ERR filled in; the caller
 * must not go on after a failure (the process may be half switched).
 */
int privdrop_apply(const struct privdrop_user *pu, char *err, size_t errlen);

/*
 * Checks that real, effective and saved ids all are UID and GID, and that
 * neither uid 0 nor gid 0 nor root's groups can be taken back (as ssh's
 * permanently_set_uid). 0, or -1 with ERR naming the id that is wrong.
 */
int privdrop_verify(uid_t uid, gid_t gid, char *err, size_t errlen);

#endif
