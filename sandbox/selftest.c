/*
 * selftest: see selftest.h. The parent prepares (config, probe directory,
 * runtime directory) and cleans up; the confined child only attempts and
 * reports, since it can no longer remove what the parent made.
 */
#define _GNU_SOURCE /* setresuid */
#include "selftest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "config.h"
#include "flags.h"
#include "log.h"
#include "privdrop.h"
#include "sandbox.h"

struct selftest {
	const char *role;
	const char *config;
	struct sandbox_target t;
	const char *db_path;	/* -db, also for the compactor (t.db NULL) */
	const struct sandbox_role *row;
	struct sandbox_rules rules;
	char probe_dir[64];
	char probe[96];
	char probe_new[96];
	char rundir[64];	/* made here when -run is not given */
	int failures;
};

/* One line per attempt; ERR is 0 when the attempt succeeded. */
static void
report(struct selftest *st, const char *what, const char *path, int err)
{
	if (err == 0) {
		st->failures++;
		printf("%s: %s%s%s: ALLOWED\n", st->role, what, path ? " " : "",
		    path ? path : "");
	} else {
		printf("%s: %s%s%s: denied (%s)\n", st->role, what,
		    path ? " " : "", path ? path : "", strerror(err));
	}
	fflush(stdout);
}

static void
try_open(struct selftest *st, const char *what, const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0600);

	report(st, what, path, fd >= 0 ? 0 : errno);
	if (fd >= 0)
		close(fd);
}

static void
try_socket(struct selftest *st, const char *what, int family)
{
	int s = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	report(st, what, NULL, s >= 0 ? 0 : errno);
	if (s >= 0)
		close(s);
}

/* In a child, so that a successful exec cannot end the self-test: its
 * exit status is 0 if /bin/true ran, else the exec's errno. */
static void
try_exec(struct selftest *st)
{
	char *const argv[] = { (char *)(uintptr_t)"/bin/true", NULL };
	char *const envp[] = { NULL };
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		execve(argv[0], argv, envp);
		_exit(errno != 0 ? (errno & 0xff) : 255);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		st->failures++;
		printf("%s: exec /bin/true: could not try (%s)\n", st->role,
		    strerror(errno));
		return;
	}
	report(st, "exec", argv[0], WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0 ? 0 : WIFEXITED(status) ?
	    WEXITSTATUS(status) : EINTR);
}

static void
attempts(struct selftest *st)
{
	try_open(st, "read", st->probe, O_RDONLY);
	try_open(st, "create", st->probe_new, O_WRONLY | O_CREAT | O_EXCL);
	if (!sandbox_rules_cover(&st->rules, st->config))
		try_open(st, "read config", st->config, O_RDONLY);
	if ((st->t.rep != NULL || st->t.db == NULL) &&
	    !sandbox_rules_cover(&st->rules, st->db_path))
		try_open(st, "read database", st->db_path, O_RDONLY);
	if (st->row->net == SECCOMP_NET_LOCAL) {
		try_socket(st, "socket AF_INET", AF_INET);
		try_socket(st, "socket AF_INET6", AF_INET6);
	}
	try_exec(st);
	report(st, "regain uid 0", NULL, setresuid(0, 0, 0) == 0 ? 0 : errno);
	report(st, "regain gid 0", NULL, setresgid(0, 0, 0) == 0 ? 0 : errno);
}

/* A directory outside every area of the role, with one readable file,
 * owned by the user the role runs as. */
static int
make_probe(struct selftest *st, const struct privdrop_user *pu)
{
	static const char *const bases[] = { "/var/tmp", "/tmp", "/dev/shm" };
	int fd;

	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		snprintf(st->probe_dir, sizeof(st->probe_dir),
		    "%s/walship-probe.XXXXXX", bases[i]);
		if (sandbox_rules_cover(&st->rules, st->probe_dir) ||
		    mkdtemp(st->probe_dir) == NULL)
			continue;
		snprintf(st->probe, sizeof(st->probe), "%s/probe",
		    st->probe_dir);
		snprintf(st->probe_new, sizeof(st->probe_new), "%s/new",
		    st->probe_dir);
		if ((fd = open(st->probe, O_WRONLY | O_CREAT | O_CLOEXEC,
		    0600)) < 0 || write(fd, "probe\n", 6) != 6 || close(fd) < 0 ||
		    chown(st->probe, pu->uid, pu->gid) < 0 ||
		    chown(st->probe_dir, pu->uid, pu->gid) < 0) {
			log_error("cannot make the probe", KV_S("path",
			    st->probe), KV_ERR());
			return -1;
		}
		return 0;
	}
	log_error("no directory outside the role's areas for the probe");
	return -1;
}

static void
remove_probe(struct selftest *st)
{
	if (st->probe[0] != '\0') {
		(void)unlink(st->probe);
		(void)unlink(st->probe_new);
	}
	if (st->probe_dir[0] != '\0')
		(void)rmdir(st->probe_dir);
	if (st->rundir[0] != '\0')
		(void)rmdir(st->rundir);
}

static int
load(struct selftest *st, int argc, char **argv)
{
	const char *db = NULL, *replica = NULL, *run = NULL;
	bool no_expand = false;
	const struct flag flags[] = {
		{ "config", FLAG_STRING, &st->config, "PATH", "config file" },
		{ "no-expand-env", FLAG_BOOL, &no_expand, NULL, "no $VAR" },
		{ "db", FLAG_STRING, &db, "PATH", "database path" },
		{ "replica", FLAG_STRING, &replica, "NAME", "replica name" },
		{ "run", FLAG_STRING, &run, "DIR", "runtime directory" },
	};
	int nerr = 0;

	if (argc < 2 || flags_parse(flags, sizeof(flags) / sizeof(flags[0]),
	    argc - 2, argv + 2, stderr) != argc - 2 || st->config == NULL ||
	    db == NULL) {
		fprintf(stderr, "usage: walship __sandbox-selftest ROLE -config "
		    "PATH -db PATH [-replica NAME] [-run DIR]\n");
		return -1;
	}
	st->role = argv[1];
	if ((st->t.cfg = cfg_load(st->config, !no_expand, stderr, &nerr)) ==
	    NULL)
		return -1;
	if ((st->t.db = cfg_find_db(st->t.cfg, db)) == NULL) {
		log_error("database not in config", KV_S("path", db));
		return -1;
	}
	for (size_t i = 0; replica != NULL && i < st->t.db->nreplicas; i++) {
		if (strcmp(st->t.db->replicas[i].name, replica) == 0)
			st->t.rep = &st->t.db->replicas[i];
	}
	if (replica != NULL && st->t.rep == NULL) {
		log_error("replica not in config", KV_S("replica", replica));
		return -1;
	}
	st->db_path = st->t.db->path;
	/* The compactor serves every database and owns none. */
	if (strcmp(st->role, "compactor") == 0)
		st->t.db = NULL;
	if ((st->row = sandbox_role_find(st->role, st->t.rep)) == NULL) {
		log_error("no such role (or it needs -replica)",
		    KV_S("role", st->role));
		return -1;
	}
	if (run == NULL) {
		snprintf(st->rundir, sizeof(st->rundir),
		    "/tmp/walship-selftest.XXXXXX");
		if (mkdtemp(st->rundir) == NULL) {
			log_error("cannot make a runtime directory", KV_ERR());
			st->rundir[0] = '\0';
			return -1;
		}
		run = st->rundir;
	}
	st->t.rundir = run;
	return 0;
}

/* The confined child: never returns. */
static void __attribute__((noreturn))
confined(struct selftest *st)
{
	int abi;

	child_setup();
	abi = sandbox_enter(st->role, &st->t);
	printf("%s: confined as uid %u, landlock ABI %d, seccomp on\n",
	    st->role, (unsigned)getuid(), abi);
	attempts(st);
	printf("%s: %s\n", st->role, st->failures == 0 ?
	    "every attempt denied" : "some attempts were ALLOWED");
	fflush(stdout);
	_exit(st->failures == 0 ? 0 : 1);
}

int
sandbox_selftest_main(int argc, char **argv)
{
	static struct selftest st;
	struct privdrop_user pu;
	char err[512];
	int status = 2;
	pid_t pid;

	log_set_role("selftest");
	if (load(&st, argc, argv) < 0)
		goto out;
	if (privdrop_resolve(st.t.cfg->user, &pu, err, sizeof(err)) < 0) {
		log_error("cannot run as the service user", KV_ERRS(err));
		goto out;
	}
	if ((st.rundir[0] != '\0' && chown(st.rundir, pu.uid, pu.gid) < 0) ||
	    sandbox_rules_build(st.row, &st.t, &st.rules, err,
	    sizeof(err)) < 0 || make_probe(&st, &pu) < 0) {
		log_error("cannot prepare the self-test", KV_ERRS(err));
		goto out;
	}
	fflush(stdout);
	if ((pid = fork()) < 0) {
		log_error("fork", KV_ERR());
		goto out;
	}
	if (pid == 0)
		confined(&st);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status))
		printf("%s: confined process killed by signal %d\n", st.role,
		    WTERMSIG(status));
	status = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
out:
	remove_probe(&st);
	cfg_free(st.t.cfg);
	return status;
}
