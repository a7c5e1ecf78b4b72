/*
 * sandbox_test: the role table and the Landlock rules it gives for a
 * database and its replicas, the seccomp allowlist's forbidden calls, the
 * environment wipe, and the privilege drop with its verification, in
 * forked children (the drop needs root: as another user it fails, saying
 * so, rather than pass without checking anything).
 */
#define _GNU_SOURCE /* setresuid */
#include <errno.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "privdrop.h"
#include "sandbox.h"
#include "test.h"

extern char **environ;

static struct cfg_replica reps[3];
static struct cfg_db db = {
	.path = (char *)(uintptr_t)"/srv/data/app.db",
	.meta_path = (char *)(uintptr_t)"/srv/data/.app.db-litestream",
	.replicas = reps, .nreplicas = 3,
};
static struct cfg cfg = { .user = (char *)(uintptr_t)"walship", .dbs = &db,
	.ndbs = 1 };

static void
setup(void)
{
	reps[0].type = CFG_REPLICA_FILE;
	reps[0].name = (char *)(uintptr_t)"f";
	reps[0].path = (char *)(uintptr_t)"/backup/app";
	reps[1].type = CFG_REPLICA_S3;
	reps[1].name = (char *)(uintptr_t)"s";
	reps[1].path = (char *)(uintptr_t)"app";
	reps[2].type = CFG_REPLICA_GCS;
	reps[2].name = (char *)(uintptr_t)"g";
}

static struct sandbox_rules rules;

/* The access RULES give PATH exactly (0 if no rule names it). */
static int
rule_for(const char *path, bool *create)
{
	for (size_t i = 0; i < rules.n; i++) {
		if (strcmp(rules.v[i].path, path) == 0) {
			*create = rules.create[i];
			return (int)rules.v[i].access;
		}
	}
	return 0;
}

static int
build(const char *role, const struct cfg_replica *rep)
{
	struct sandbox_target t = { .cfg = &cfg, .db = &db, .rep = rep,
		.rundir = "/run/walship/walship.abc123" };
	const struct sandbox_role *row = sandbox_role_find(role, rep);
	char err[256];

	if (row == NULL)
		return -1;
	return sandbox_rules_build(row, &t, &rules, err, sizeof(err));
}

TEST(role_table_rows)
{
	const struct sandbox_role *r;

	setup();
	ASSERT((r = sandbox_role_find("walreader", NULL)) != NULL);
	ASSERT_INT_EQ(r->net, SECCOMP_NET_LOCAL);
	ASSERT_INT_EQ(r->creds, SANDBOX_CREDS_NONE);
	ASSERT((r = sandbox_role_find("uploader", &reps[0])) != NULL);
	ASSERT_INT_EQ(r->net, SECCOMP_NET_LOCAL);
	ASSERT_INT_EQ(r->creds, SANDBOX_CREDS_NONE);
	ASSERT((r = sandbox_role_find("uploader", &reps[1])) != NULL);
	ASSERT_INT_EQ(r->net, SECCOMP_NET_INET);
	ASSERT_INT_EQ(r->creds, SANDBOX_CREDS_OWN);
	ASSERT((r = sandbox_role_find("compactor", NULL)) != NULL);
	ASSERT_INT_EQ(r->creds, SANDBOX_CREDS_ALL);
	/* No row: an uploader without a replica, or of a type not served. */
	ASSERT(sandbox_role_find("uploader", NULL) == NULL);
	ASSERT(sandbox_role_find("uploader", &reps[2]) == NULL);
	ASSERT(sandbox_role_find("supervisor", NULL) == NULL);
	ASSERT_INT_EQ(sandbox_role_count(), 4);
}

TEST(walreader_rules)
{
	bool create = false;

	setup();
	ASSERT_INT_EQ(build("walreader", NULL), 0);
	ASSERT_INT_EQ(rule_for("/srv/data", &create), LANDLOCK_WRITE);
	ASSERT(!create);
	ASSERT_INT_EQ(rule_for("/srv/data/.app.db-litestream", &create),
	    LANDLOCK_WRITE);
	ASSERT(create);
	ASSERT_INT_EQ(rule_for("/run/walship/walship.abc123", &create),
	    LANDLOCK_WRITE);
	ASSERT_INT_EQ(rule_for("/proc/self", &create), LANDLOCK_READ);
	ASSERT(!sandbox_rules_cover(&rules, "/backup/app/generations"));
	ASSERT(!sandbox_rules_cover(&rules, "/etc/ssl/certs"));
	ASSERT(!sandbox_rules_cover(&rules, "/etc/walship.yml"));
}

TEST(file_uploader_rules)
{
	bool create = false;

	setup();
	ASSERT_INT_EQ(build("uploader", &reps[0]), 0);
	ASSERT_INT_EQ(rule_for("/srv/data/.app.db-litestream", &create),
	    LANDLOCK_READ);
	ASSERT_INT_EQ(rule_for("/srv/data/.app.db-litestream/walship",
	    &create), LANDLOCK_WRITE);
	ASSERT(create);
	ASSERT_INT_EQ(rule_for("/backup/app", &create), LANDLOCK_WRITE);
	ASSERT(create);
	/* Not the database itself, nor its directory. */
	ASSERT(!sandbox_rules_cover(&rules, "/srv/data/app.db"));
	ASSERT_INT_EQ(rule_for("/srv/data", &create), 0);
	ASSERT(!sandbox_rules_cover(&rules, "/etc/ssl/certs"));
}

TEST(s3_uploader_rules)
{
	bool create = false;

	setup();
	ASSERT_INT_EQ(build("uploader", &reps[1]), 0);
	ASSERT(!sandbox_rules_cover(&rules, "/srv/data/app.db"));
	ASSERT(!sandbox_rules_cover(&rules, "/backup/app"));
	ASSERT_INT_EQ(rule_for("/etc/ssl", &create), LANDLOCK_READ);
	ASSERT_INT_EQ(rule_for("/etc/resolv.conf", &create), LANDLOCK_READ);
	ASSERT(rules.v[0].access == LANDLOCK_WRITE);
	for (size_t i = 0; i < rules.n; i++) {
		if (rules.v[i].access == LANDLOCK_WRITE)
			ASSERT(strncmp(rules.v[i].path, "/etc", 4) != 0 &&
			    strncmp(rules.v[i].path, "/usr", 4) != 0);
	}
}

TEST(compactor_rules_every_file_replica)
{
	bool create = true;

	setup();
	ASSERT_INT_EQ(build("compactor", NULL), 0);
	ASSERT_INT_EQ(rule_for("/backup/app", &create), LANDLOCK_WRITE);
	ASSERT(create); /* made if its uploader has not made it yet */
	ASSERT(!sandbox_rules_cover(&rules, "/srv/data/app.db"));
}

TEST(rules_need_their_target)
{
	struct sandbox_target t = { .cfg = &cfg, .rundir = "/run/w" };
	char err[256];

	setup();
	ASSERT_INT_EQ(sandbox_rules_build(sandbox_role_find("walreader", NULL),
	    &t, &rules, err, sizeof(err)), -1);
	ASSERT(strstr(err, "needs a database") != NULL);
	t.db = &db;
	t.rundir = "run";
	ASSERT_INT_EQ(sandbox_rules_build(sandbox_role_find("walreader", NULL),
	    &t, &rules, err, sizeof(err)), -1);
	ASSERT(strstr(err, "absolute") != NULL);
}

TEST(cover_is_by_component)
{
	memset(&rules, 0, sizeof(rules));
	strcpy(rules.v[0].path, "/a/b");
	strcpy(rules.v[1].path, "/c/");
	rules.n = 2;
	ASSERT(sandbox_rules_cover(&rules, "/a/b"));
	ASSERT(sandbox_rules_cover(&rules, "/a/b/c"));
	ASSERT(!sandbox_rules_cover(&rules, "/a/bc"));
	ASSERT(!sandbox_rules_cover(&rules, "/a"));
	ASSERT(sandbox_rules_cover(&rules, "/c/d"));
	strcpy(rules.v[0].path, "/");
	ASSERT(sandbox_rules_cover(&rules, "/anything"));
}

TEST(seccomp_forbids)
{
	static const char *const never[] = { "execve", "execveat", "setuid",
		"setresuid", "setgid", "setresgid", "setgroups", "mount",
		"umount2", "unshare", "setns", "chroot", "pivot_root", "bpf",
		"init_module", "kexec_load", "reboot", "keyctl", "add_key",
		"io_uring_setup", "perf_event_open", "personality",
		"process_vm_writev", "userfaultfd" };

	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		if (seccomp_policy_allows(never[i]))
			TEST_FAIL_("%s is allowed", never[i]);
	}
#if !defined(__SANITIZE_ADDRESS__)
	ASSERT(!seccomp_policy_allows("ptrace"));
#endif
	ASSERT(seccomp_policy_allows("openat"));
	ASSERT(seccomp_policy_allows("clone3"));
	ASSERT(seccomp_policy_allows("socket"));
}

TEST(env_clean_zeroes_strings)
{
	char *secret, *proxy;

	ASSERT_INT_EQ(setenv("AWS_SECRET_ACCESS_KEY", "hunter2", 1), 0);
	ASSERT_INT_EQ(setenv("https_proxy", "http://proxy:3128", 1), 0);
	secret = getenv("AWS_SECRET_ACCESS_KEY");
	proxy = getenv("https_proxy");
	sandbox_env_clean(true);
	ASSERT(secret[0] == '\0' && proxy[0] == '\0');
	ASSERT(getenv("AWS_SECRET_ACCESS_KEY") == NULL);
	ASSERT_STR_EQ(getenv("https_proxy"), "http://proxy:3128");
	sandbox_env_clean(false);
	ASSERT(environ == NULL || environ[0] == NULL);
}

/* Runs FN in a child; its exit status is the number of failed checks. */
static int
in_child(int (*fn)(void))
{
	int st;
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn());
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

static int
drop_to_nobody(void)
{
	struct privdrop_user pu;
	char err[256];

	if (privdrop_resolve("nobody", &pu, err, sizeof(err)) < 0 ||
	    !pu.switch_ids || pu.uid == 0)
		return 1;
	if (privdrop_apply(&pu, err, sizeof(err)) < 0)
		return 2;
	if (getuid() != pu.uid || geteuid() != pu.uid || getgid() != pu.gid)
		return 3;
	if (setuid(0) == 0 || setresuid(0, 0, 0) == 0 || errno != EPERM)
		return 4;
	return 0;
}

/* A switch that keeps uid 0 as the saved uid can be undone: verify must
 * say so. */
static int
saved_uid_kept(void)
{
	char err[256];

	if (setresgid(65534, 65534, 65534) < 0 ||
	    setresuid(65534, 65534, 0) < 0)
		return 1;
	if (privdrop_verify(65534, 65534, err, sizeof(err)) == 0)
		return 2;
	return strstr(err, "uids are 65534/65534/0") != NULL ? 0 : 3;
}

static int
root_user_means_no_switch(void)
{
	struct privdrop_user pu;
	char err[256];

	if (privdrop_resolve("root", &pu, err, sizeof(err)) < 0 ||
	    pu.switch_ids || privdrop_apply(&pu, err, sizeof(err)) < 0 ||
	    geteuid() != 0)
		return 1;
	if (privdrop_resolve("no-such-walship-user", &pu, err,
	    sizeof(err)) == 0 || strstr(err, "does not exist") == NULL ||
	    strstr(err, "user: root") == NULL)
		return 2;
	return 0;
}

TEST(privdrop_as_root)
{
	if (geteuid() != 0)
		TEST_FAIL_("privdrop tests need root (they switch users): run "
		    "as root, as CI does");
	ASSERT_INT_EQ(in_child(drop_to_nobody), 0);
	ASSERT_INT_EQ(in_child(saved_uid_kept), 0);
	ASSERT_INT_EQ(in_child(root_user_means_no_switch), 0);
	/* Still root here: the parent verifies as root fine, not as nobody. */
	char err[256];
	ASSERT_INT_EQ(privdrop_verify(0, 0, err, sizeof(err)), 0);
	ASSERT_INT_EQ(privdrop_verify(65534, 65534, err, sizeof(err)), -1);
}

int
main(void)
{
	RUN(role_table_rows);
	RUN(walreader_rules);
	RUN(file_uploader_rules);
	RUN(s3_uploader_rules);
	RUN(compactor_rules_every_file_replica);
	RUN(rules_need_their_target);
	RUN(cover_is_by_component);
	RUN(seccomp_forbids);
	RUN(env_clean_zeroes_strings);
	RUN(privdrop_as_root);
	return TEST_DONE();
}
