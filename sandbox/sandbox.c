/*
 * sandbox: sandbox_enter(), the steps of sandbox.h in their order.
 */
#include "sandbox.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "child.h"
#include "config.h"
#include "io.h"
#include "log.h"
#include "privdrop.h"

/* The mode the walreader gives the meta dir: the database directory's. */
static mode_t
db_dir_mode(const struct sandbox_target *t)
{
	char dir[PATH_MAX];
	const char *slash;
	struct stat st;

	if (t->db == NULL || (slash = strrchr(t->db->path, '/')) == NULL)
		return 0700;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - t->db->path),
	    t->db->path);
	if (stat(dir[0] ? dir : "/", &st) < 0)
		return 0700;
	return st.st_mode & 0777;
}

static void
become_service_user(const struct sandbox_target *t, struct privdrop_user *pu)
{
	char err[512];

	if (privdrop_resolve(t->cfg->user, pu, err, sizeof(err)) < 0 ||
	    privdrop_apply(pu, err, sizeof(err)) < 0)
		fatalx("cannot drop privileges", KV_ERRS(err));
	child_check_parent(); /* a credential change clears the death signal */
}

static void
guard_credentials(void)
{
	struct rlimit none = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &none) < 0)
		fatal("setrlimit(RLIMIT_CORE)");
#if !defined(__SANITIZE_ADDRESS__)
	/* Not under sanitizers: LeakSanitizer must ptrace the process. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fatal("prctl(PR_SET_DUMPABLE)");
#endif
}

static void
make_dirs(const struct sandbox_rules *rules, mode_t mode)
{
	for (size_t i = 0; i < rules->n; i++) {
		if (rules->create[i] && io_mkdir_p(rules->v[i].path, mode) < 0)
			fatal("cannot create directory",
			    KV_S("path", rules->v[i].path));
	}
}

int
sandbox_enter(const char *name, const struct sandbox_target *t)
{
	const struct sandbox_role *role = sandbox_role_find(name, t->rep);
	static struct sandbox_rules rules;
	struct privdrop_user pu;
	char err[512];
	int abi;

	if (role == NULL)
		fatalx("no sandbox for this role", KV_S("role", name));
	cfg_forget_secrets(t->cfg, role->creds == SANDBOX_CREDS_OWN ? t->rep :
	    NULL, role->creds == SANDBOX_CREDS_ALL);
	sandbox_env_clean(role->net == SECCOMP_NET_INET);
	become_service_user(t, &pu);
	if (role->creds != SANDBOX_CREDS_NONE)
		guard_credentials();
	if (sandbox_rules_build(role, t, &rules, err, sizeof(err)) < 0)
		fatalx("cannot build sandbox rules", KV_ERRS(err));
	make_dirs(&rules, db_dir_mode(t));

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fatal("prctl(PR_SET_NO_NEW_PRIVS)");
	abi = landlock_confine(rules.v, rules.n,
	    role->net == SECCOMP_NET_LOCAL, err, sizeof(err));
	if (abi < 0)
		fatalx("cannot confine with Landlock", KV_ERRS(err));
	if (abi == 0)
		log_warn("kernel without Landlock: file-system confinement "
		    "off, seccomp only");
	if (seccomp_policy_apply(role->net, err, sizeof(err)) < 0)
		fatalx("cannot load the seccomp filter", KV_ERRS(err));
	log_info("confined", KV_S("role", name),
	    KV_U("uid", (unsigned long long)pu.uid),
	    KV_I("landlock_abi", abi), KV_U("rules", rules.n));
	return abi;
}
