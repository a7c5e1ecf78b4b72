/*
 * privdrop: see privdrop.h. The order is the one that cannot be got wrong:
 * groups and gid while still root (a non-root process may no longer change
 * them), uid last, then try to regain what was given up: every attempt
 * must fail, or the process stops.
 */
#define _GNU_SOURCE /* setresuid, getresuid */
#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
privdrop_resolve(const char *name, struct privdrop_user *pu, char *err,
    size_t errlen)
{
	struct passwd *pw;

	memset(pu, 0, sizeof(*pu));
	pu->uid = geteuid();
	pu->gid = getegid();
	if (pu->uid != 0)
		return 0;
	if (name == NULL || *name == '\0' ||
	    strlen(name) >= sizeof(pu->name)) {
		snprintf(err, errlen, "user: must name the account the "
		    "processes run as");
		return -1;
	}
	errno = 0;
	if ((pw = getpwnam(name)) == NULL) {
		snprintf(err, errlen, "service user \"%s\" %s: create it "
		    "(useradd --system --no-create-home --shell "
		    "/usr/sbin/nologin %s) or name another account in user:; "
		    "\"user: root\" runs every process as root", name,
		    errno != 0 ? strerror(errno) : "does not exist", name);
		return -1;
	}
	snprintf(pu->name, sizeof(pu->name), "%s", name);
	pu->uid = pw->pw_uid;
	pu->gid = pw->pw_gid;
	pu->switch_ids = pw->pw_uid != 0;
	return 0;
}

int
privdrop_apply(const struct privdrop_user *pu, char *err, size_t errlen)
{
	if (!pu->switch_ids)
		return 0;
	if (initgroups(pu->name, pu->gid) < 0) {
		snprintf(err, errlen, "initgroups(%s): %s", pu->name,
		    strerror(errno));
		return -1;
	}
	if (setresgid(pu->gid, pu->gid, pu->gid) < 0) {
		snprintf(err, errlen, "setresgid(%u): %s", (unsigned)pu->gid,
		    strerror(errno));
		return -1;
	}
	if (setresuid(pu->uid, pu->uid, pu->uid) < 0) {
		snprintf(err, errlen, "setresuid(%u): %s", (unsigned)pu->uid,
		    strerror(errno));
		return -1;
	}
	return privdrop_verify(pu->uid, pu->gid, err, errlen);
}

int
privdrop_verify(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	gid_t root_group = 0;

	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0) {
		snprintf(err, errlen, "getresuid: %s", strerror(errno));
		return -1;
	}
	if (ru != uid || eu != uid || su != uid) {
		snprintf(err, errlen, "uids are %u/%u/%u, not %u", (unsigned)ru,
		    (unsigned)eu, (unsigned)su, (unsigned)uid);
		return -1;
	}
	if (rg != gid || eg != gid || sg != gid) {
		snprintf(err, errlen, "gids are %u/%u/%u, not %u", (unsigned)rg,
		    (unsigned)eg, (unsigned)sg, (unsigned)gid);
		return -1;
	}
	if (uid == 0)
		return 0; /* root by request: nothing to regain */
	if (setuid(0) == 0 || seteuid(0) == 0) {
		snprintf(err, errlen, "uid 0 can be regained after the switch "
		    "to uid %u", (unsigned)uid);
		return -1;
	}
	if (gid != 0 && (setgid(0) == 0 || setegid(0) == 0)) {
		snprintf(err, errlen, "gid 0 can be regained after the switch "
		    "to gid %u", (unsigned)gid);
		return -1;
	}
	if (setgroups(1, &root_group) == 0) {
		snprintf(err, errlen, "supplementary groups can be changed "
		    "after the switch to uid %u", (unsigned)uid);
		return -1;
	}
	return 0;
}
