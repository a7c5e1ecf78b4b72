/*
 * The supervisor's restart policy (supervisor/child_fsm.c) driven with an
 * injected clock, its pure helpers (argv, environment, runtime directory,
 * status payloads, systemd notifications), the process title
 * (common/proctitle.c), and the
 * descriptor and signal hygiene of a real spawn: the test binary re-executes
 * itself through sv_spawn() and the child checks what it inherited.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "child_fsm.h"
#include "msg.h"
#include "proctitle.h"
#include "sv.h"
#include "test.h"

#define SEC (1000 * CHILD_NS_PER_MS)
#define MIN (60 * SEC)

static const int EXIT1 = 1 << 8;		/* wait status of exit(1) */
static const int EXIT_CONFIG = CHILD_EXIT_CONFIG << 8;

/* A machine in STATE, at time 0 (DOWN: after a death, restart pending). */
static void
fsm_in(struct child_fsm *f, enum child_state state)
{
	child_fsm_init(f, 42);
	if (state == CHILD_DOWN) {
		child_fsm_event(f, CHILD_EV_START, 0, 0);
		child_fsm_event(f, CHILD_EV_EXIT, 0, EXIT1);
		return;
	}
	child_fsm_event(f, CHILD_EV_START, 0, 0);
	if (state == CHILD_UP)
		child_fsm_event(f, CHILD_EV_READY, 0, 0);
	else if (state == CHILD_STOPPING)
		child_fsm_event(f, CHILD_EV_STOP, 0, 0);
	else if (state == CHILD_FAILED)
		child_fsm_event(f, CHILD_EV_EXIT, 0, EXIT_CONFIG);
}

TEST(table_complete)
{
	for (int s = 0; s < CHILD_NSTATES; s++) {
		for (int e = 0; e < CHILD_NEVENTS; e++) {
			if (!child_fsm_defined((enum child_state)s,
			    (enum child_event)e))
				TEST_FAIL_("no action for (%s, %s)",
				    child_fsm_state_name((enum child_state)s),
				    child_fsm_event_name((enum child_event)e));
		}
	}
	ASSERT(!child_fsm_defined(CHILD_NSTATES, CHILD_EV_START));
	ASSERT(!child_fsm_defined(CHILD_DOWN, CHILD_NEVENTS));
}

/* Every (state, event) pair: the next state and the work asked for. */
TEST(table_actions)
{
	static const struct {
		enum child_state next;
		unsigned todo;
	} want[CHILD_NSTATES][CHILD_NEVENTS] = {
		[CHILD_DOWN] = {
			[CHILD_EV_START] = { CHILD_STARTING, CHILD_DO_SPAWN },
			[CHILD_EV_TIMER] = { CHILD_STARTING, CHILD_DO_SPAWN },
			[CHILD_EV_READY] = { CHILD_DOWN, 0 },
			[CHILD_EV_EXIT] = { CHILD_DOWN, 0 },
			[CHILD_EV_STOP] = { CHILD_DOWN, CHILD_DO_DISARM },
			[CHILD_EV_KILL] = { CHILD_DOWN, CHILD_DO_DISARM },
		},
		[CHILD_STARTING] = {
			[CHILD_EV_START] = { CHILD_STARTING, 0 },
			[CHILD_EV_TIMER] = { CHILD_STARTING, 0 },
			[CHILD_EV_READY] = { CHILD_UP, 0 },
			[CHILD_EV_EXIT] = { CHILD_DOWN, CHILD_DO_ARM },
			[CHILD_EV_STOP] = { CHILD_STOPPING, CHILD_DO_TERM },
			[CHILD_EV_KILL] = { CHILD_STOPPING, CHILD_DO_KILL },
		},
		[CHILD_UP] = {
			[CHILD_EV_START] = { CHILD_UP, 0 },
			[CHILD_EV_TIMER] = { CHILD_UP, 0 },
			[CHILD_EV_READY] = { CHILD_UP, 0 },
			[CHILD_EV_EXIT] = { CHILD_DOWN, CHILD_DO_ARM },
			[CHILD_EV_STOP] = { CHILD_STOPPING, CHILD_DO_TERM },
			[CHILD_EV_KILL] = { CHILD_STOPPING, CHILD_DO_KILL },
		},
		[CHILD_STOPPING] = {
			[CHILD_EV_START] = { CHILD_STOPPING, 0 },
			[CHILD_EV_TIMER] = { CHILD_STOPPING, 0 },
			[CHILD_EV_READY] = { CHILD_STOPPING, 0 },
			[CHILD_EV_EXIT] = { CHILD_DOWN, 0 },
			[CHILD_EV_STOP] = { CHILD_STOPPING, 0 },
			[CHILD_EV_KILL] = { CHILD_STOPPING, CHILD_DO_KILL },
		},
		[CHILD_FAILED] = {
			[CHILD_EV_START] = { CHILD_STARTING, CHILD_DO_SPAWN },
			[CHILD_EV_TIMER] = { CHILD_FAILED, 0 },
			[CHILD_EV_READY] = { CHILD_FAILED, 0 },
			[CHILD_EV_EXIT] = { CHILD_FAILED, 0 },
			[CHILD_EV_STOP] = { CHILD_FAILED, CHILD_DO_DISARM },
			[CHILD_EV_KILL] = { CHILD_FAILED, CHILD_DO_DISARM },
		},
	};
	for (int s = 0; s < CHILD_NSTATES; s++) {
		for (int e = 0; e < CHILD_NEVENTS; e++) {
			struct child_fsm f;
			fsm_in(&f, (enum child_state)s);
			ASSERT_INT_EQ(f.state, s);
			unsigned todo = child_fsm_event(&f, (enum child_event)e,
			    SEC, EXIT1);
			if (f.state != want[s][e].next ||
			    todo != want[s][e].todo)
				TEST_FAIL_("(%s, %s): got %s/%#x, want %s/%#x",
				    child_fsm_state_name((enum child_state)s),
				    child_fsm_event_name((enum child_event)e),
				    child_fsm_state_name(f.state), todo,
				    child_fsm_state_name(want[s][e].next),
				    want[s][e].todo);
		}
	}
}

/* Dies after RUN ns each time; returns the armed delay (0 if none). */
static int64_t
die_after(struct child_fsm *f, int64_t *now, int64_t run, bool ready)
{
	if (child_fsm_event(f, CHILD_EV_TIMER, *now, 0) != CHILD_DO_SPAWN)
		return -1;
	if (ready)
		child_fsm_event(f, CHILD_EV_READY, *now, 0);
	*now += run;
	unsigned todo = child_fsm_event(f, CHILD_EV_EXIT, *now, EXIT1);
	if (!(todo & CHILD_DO_ARM))
		return 0;
	*now += f->delay_ms * CHILD_NS_PER_MS;
	return f->delay_ms;
}

TEST(backoff_doubles_to_cap)
{
	static const int64_t base[] = { 1000, 2000, 4000, 8000, 16000, 32000,
		60000, 60000, 60000 };
	struct child_fsm f;
	int64_t now = 0;

	child_fsm_init(&f, 7);
	ASSERT_INT_EQ(child_fsm_event(&f, CHILD_EV_START, now, 0),
	    CHILD_DO_SPAWN);
	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++) {
		/* Deaths 151 s apart: never 5 within 10 minutes. */
		now += 151 * SEC;
		ASSERT_INT_EQ(child_fsm_event(&f, CHILD_EV_EXIT, now, EXIT1),
		    CHILD_DO_ARM);
		ASSERT_INT_EQ(f.state, CHILD_DOWN);
		int64_t d = f.delay_ms;
		if (d < base[i] || d > base[i] + base[i] / 10)
			TEST_FAIL_("restart %zu: %lld ms, want %lld..%lld",
			    i + 1, (long long)d, (long long)base[i],
			    (long long)(base[i] + base[i] / 10));
		now += d * CHILD_NS_PER_MS;
		ASSERT_INT_EQ(child_fsm_event(&f, CHILD_EV_TIMER, now, 0),
		    CHILD_DO_SPAWN);
	}
	ASSERT_INT_EQ(f.backoff_ms, CHILD_BACKOFF_MAX_MS);
	ASSERT_INT_EQ(f.restarts, 9);
	ASSERT_INT_EQ(f.spawns, 10);
}

TEST(backoff_resets_after_stable_run)
{
	struct child_fsm f;
	int64_t now = 0, d;

	child_fsm_init(&f, 9);
	child_fsm_event(&f, CHILD_EV_START, now, 0);
	now += 200 * SEC;
	child_fsm_event(&f, CHILD_EV_EXIT, now, EXIT1);	/* 1 s */
	now += f.delay_ms * CHILD_NS_PER_MS;
	d = die_after(&f, &now, 200 * SEC, true);	/* 2 s */
	ASSERT(d >= 2000 && d <= 2200);
	d = die_after(&f, &now, 200 * SEC, true);	/* 4 s */
	ASSERT(d >= 4000 && d <= 4400);
	/* READY for just under 5 minutes: not stable yet. */
	d = die_after(&f, &now, CHILD_STABLE_NS - 1, true);
	ASSERT(d >= 8000 && d <= 8800);
	/* READY for 5 minutes: back to 1 s, then doubling again. */
	d = die_after(&f, &now, CHILD_STABLE_NS, true);
	ASSERT(d >= 1000 && d <= 1100);
	d = die_after(&f, &now, 200 * SEC, true);
	ASSERT(d >= 2000 && d <= 2200);
	/* Running 5 minutes without ever reporting READY is not stable. */
	d = die_after(&f, &now, 2 * CHILD_STABLE_NS, false);
	ASSERT(d >= 4000 && d <= 4400);
}

TEST(five_deaths_in_ten_minutes_fail)
{
	struct child_fsm f;
	int64_t now = 0;

	child_fsm_init(&f, 3);
	child_fsm_event(&f, CHILD_EV_START, now, 0);
	for (int i = 1; i <= 4; i++) {
		now += 10 * SEC;
		ASSERT_INT_EQ(child_fsm_event(&f, CHILD_EV_EXIT, now, EXIT1),
		    CHILD_DO_ARM);
		ASSERT_INT_EQ(f.state, CHILD_DOWN);
		ASSERT_INT_EQ(child_fsm_event(&f, CHILD_EV_TIMER, now, 0),
		    CHILD_DO_SPAWN);
	}
	now += 10 * SEC;
	/* Reported as failed, and retried only at the longest backoff. */
	ASSERT_INT_EQ(child_fsm_event(&f, CHILD_EV_EXIT, now, EXIT1),
	    CHILD_DO_ARM);
	ASSERT_INT_EQ(f.state, CHILD_FAILED);
	ASSERT_INT_EQ(f.fail, CHILD_FAIL_DEATHS_BURST);
	ASSERT(f.delay_ms >= CHILD_BACKOFF_MAX_MS &&
	    f.delay_ms <= CHILD_BACKOFF_MAX_MS * 11 / 10);
	ASSERT_INT_EQ(child_fsm_event(&f, CHILD_EV_TIMER, now + MIN, 0),
	    CHILD_DO_SPAWN);
	ASSERT_INT_EQ(f.state, CHILD_STARTING);
	ASSERT_INT_EQ(f.fail, CHILD_FAIL_DEATHS_BURST);
	/* Dying again: failed again, still at the longest backoff. */
	ASSERT_INT_EQ(child_fsm_event(&f, CHILD_EV_EXIT, now + MIN, EXIT1),
	    CHILD_DO_ARM);
	ASSERT_INT_EQ(f.state, CHILD_FAILED);
	ASSERT(f.delay_ms >= CHILD_BACKOFF_MAX_MS);
	/* Coming up clears it. */
	child_fsm_event(&f, CHILD_EV_TIMER, now + 2 * MIN, 0);
	child_fsm_event(&f, CHILD_EV_READY, now + 2 * MIN, 0);
	ASSERT_INT_EQ(f.state, CHILD_UP);
	ASSERT_INT_EQ(f.fail, CHILD_FAIL_NONE);
	/* A stop while failed cancels the pending retry. */
	child_fsm_event(&f, CHILD_EV_EXIT, now + 3 * MIN, EXIT1);
	ASSERT_INT_EQ(f.state, CHILD_FAILED);
	ASSERT_INT_EQ(child_fsm_event(&f, CHILD_EV_STOP, now + 3 * MIN, 0),
	    CHILD_DO_DISARM);
	ASSERT_INT_EQ(child_fsm_event(&f, CHILD_EV_TIMER, now + 4 * MIN, 0),
	    0);
	/* An explicit start forgets the history. */
	ASSERT_INT_EQ(child_fsm_event(&f, CHILD_EV_START, now + 5 * MIN, 0),
	    CHILD_DO_SPAWN);
	ASSERT_INT_EQ(f.state, CHILD_STARTING);
	ASSERT_INT_EQ(f.fail, CHILD_FAIL_NONE);
	ASSERT_INT_EQ(f.backoff_ms, CHILD_BACKOFF_MIN_MS);
}

TEST(deaths_spread_over_more_than_window_do_not_fail)
{
	struct child_fsm f;
	int64_t now = 0;

	child_fsm_init(&f, 5);
	child_fsm_event(&f, CHILD_EV_START, now, 0);
	/* Deaths 150 s + 1 ns apart: any five span 4 ns more than 10
	 * minutes. */
	for (int i = 0; i < 12; i++) {
		now = i * (150 * SEC + 1);
		ASSERT_INT_EQ(child_fsm_event(&f, CHILD_EV_EXIT, now, EXIT1),
		    CHILD_DO_ARM);
		child_fsm_event(&f, CHILD_EV_TIMER, now, 0);
		ASSERT_INT_EQ(f.state, CHILD_STARTING);
	}
	/* ...but the fifth within exactly 10 minutes of the first fails. */
	child_fsm_init(&f, 5);
	child_fsm_event(&f, CHILD_EV_START, 0, 0);
	for (int i = 0; i < 5; i++) {
		now = i * 150 * SEC;
		child_fsm_event(&f, CHILD_EV_EXIT, now, EXIT1);
		if (i < 4)
			child_fsm_event(&f, CHILD_EV_TIMER, now, 0);
	}
	ASSERT_INT_EQ(f.state, CHILD_FAILED);
}

TEST(config_error_fails_at_once)
{
	struct child_fsm f;

	child_fsm_init(&f, 1);
	child_fsm_event(&f, CHILD_EV_START, 0, 0);
	ASSERT_INT_EQ(child_fsm_event(&f, CHILD_EV_EXIT, SEC, EXIT_CONFIG), 0);
	ASSERT_INT_EQ(f.state, CHILD_FAILED);
	ASSERT_INT_EQ(f.fail, CHILD_FAIL_CONFIG);
	ASSERT_INT_EQ(f.last_status, EXIT_CONFIG);
	ASSERT_INT_EQ(child_fsm_event(&f, CHILD_EV_TIMER, 2 * SEC, 0), 0);
	ASSERT_INT_EQ(f.state, CHILD_FAILED);
	/* Even from UP, long after a stable run. */
	child_fsm_init(&f, 1);
	child_fsm_event(&f, CHILD_EV_START, 0, 0);
	child_fsm_event(&f, CHILD_EV_READY, 0, 0);
	ASSERT_INT_EQ(child_fsm_event(&f, CHILD_EV_EXIT, 60 * MIN,
	    EXIT_CONFIG), 0);
	ASSERT_INT_EQ(f.fail, CHILD_FAIL_CONFIG);
	/* Only that exact status: 77 is an ordinary failure. */
	child_fsm_init(&f, 1);
	child_fsm_event(&f, CHILD_EV_START, 0, 0);
	ASSERT_INT_EQ(child_fsm_event(&f, CHILD_EV_EXIT, SEC, 77 << 8),
	    CHILD_DO_ARM);
	/* A stopping child exiting 78 is just stopped. */
	child_fsm_init(&f, 1);
	child_fsm_event(&f, CHILD_EV_START, 0, 0);
	child_fsm_event(&f, CHILD_EV_STOP, 0, 0);
	ASSERT_INT_EQ(child_fsm_event(&f, CHILD_EV_EXIT, SEC, EXIT_CONFIG), 0);
	ASSERT_INT_EQ(f.state, CHILD_DOWN);
}

TEST(stop_cancels_pending_restart)
{
	struct child_fsm f;

	fsm_in(&f, CHILD_DOWN);
	ASSERT(f.wanted);
	ASSERT_INT_EQ(child_fsm_event(&f, CHILD_EV_STOP, SEC, 0),
	    CHILD_DO_DISARM);
	ASSERT(!f.wanted);
	/* A timer that fired anyway does not start it. */
	ASSERT_INT_EQ(child_fsm_event(&f, CHILD_EV_TIMER, 2 * SEC, 0), 0);
	ASSERT_INT_EQ(f.state, CHILD_DOWN);
	/* Stopping a running child: TERM, then its exit is no death. */
	child_fsm_init(&f, 1);
	child_fsm_event(&f, CHILD_EV_START, 0, 0);
	child_fsm_event(&f, CHILD_EV_READY, 0, 0);
	ASSERT_INT_EQ(child_fsm_event(&f, CHILD_EV_STOP, SEC, 0),
	    CHILD_DO_TERM);
	ASSERT_INT_EQ(child_fsm_event(&f, CHILD_EV_KILL, 2 * SEC, 0),
	    CHILD_DO_KILL);
	ASSERT_INT_EQ(child_fsm_event(&f, CHILD_EV_EXIT, 3 * SEC, SIGKILL), 0);
	ASSERT_INT_EQ(f.state, CHILD_DOWN);
	ASSERT_INT_EQ(f.ndeaths, 0);
	ASSERT_INT_EQ(child_fsm_event(&f, CHILD_EV_TIMER, 4 * SEC, 0), 0);
}

TEST(jitter_is_bounded_and_seeded)
{
	struct child_fsm a, b;

	ASSERT_INT_EQ(child_fsm_jitter(1000, 0), 1000);
	ASSERT_INT_EQ(child_fsm_jitter(1000, 100), 1100);
	ASSERT_INT_EQ(child_fsm_jitter(1000, 101), 1000);
	ASSERT_INT_EQ(child_fsm_jitter(60000, UINT32_MAX) <= 66000, 1);
	/* The same seed gives the same delays; another seed differs soon. */
	fsm_in(&a, CHILD_DOWN);
	fsm_in(&b, CHILD_DOWN);
	ASSERT_INT_EQ(a.delay_ms, b.delay_ms);
	int differ = 0;
	for (uint32_t seed = 1; seed < 20; seed++) {
		child_fsm_init(&a, seed);
		child_fsm_init(&b, seed + 1000);
		child_fsm_event(&a, CHILD_EV_START, 0, 0);
		child_fsm_event(&b, CHILD_EV_START, 0, 0);
		child_fsm_event(&a, CHILD_EV_EXIT, SEC, EXIT1);
		child_fsm_event(&b, CHILD_EV_EXIT, SEC, EXIT1);
		differ += a.delay_ms != b.delay_ms;
	}
	ASSERT(differ > 0);
	child_fsm_init(&a, 0); /* a zero seed must not stall the generator */
	ASSERT(a.rng != 0);
}

TEST(describe_status)
{
	char buf[64];

	child_fsm_describe_status(3 << 8, buf, sizeof(buf));
	ASSERT_STR_EQ(buf, "exit status 3");
	child_fsm_describe_status(0, buf, sizeof(buf));
	ASSERT_STR_EQ(buf, "exit status 0");
	child_fsm_describe_status(SIGSEGV, buf, sizeof(buf));
	ASSERT_STR_EQ(buf, "killed by signal SIGSEGV");
	child_fsm_describe_status(SIGABRT | 0x80, buf, sizeof(buf));
	ASSERT_STR_EQ(buf, "killed by signal SIGABRT (core dumped)");
	child_fsm_describe_status(SIGKILL, buf, sizeof(buf));
	ASSERT_STR_EQ(buf, "killed by signal SIGKILL");
	ASSERT_STR_EQ(child_fsm_fail_name(CHILD_FAIL_CONFIG), "config error");
}

static int
argv_len(char *const *argv)
{
	int n = 0;
	while (argv[n] != NULL)
		n++;
	return n;
}

TEST(child_argv)
{
	struct child c;

	memset(&c, 0, sizeof(c));
	c.role = SV_WALREADER;
	c.db_id = 2;
	c.db_path = (char *)(uintptr_t)"/data/app.db";
	sv_child_argv(&c, "/etc/walship.yml", true, "/run/walship/walship.abc");
	static const char *const wr[] = { "walship", "__role", "walreader",
		"-config", "/etc/walship.yml", "-run",
		"/run/walship/walship.abc", "-db-id", "2", "-db",
		"/data/app.db" };
	ASSERT_INT_EQ(argv_len(c.argv), 11);
	for (int i = 0; i < 11; i++)
		ASSERT_STR_EQ(c.argv[i], wr[i]);

	c.role = SV_UPLOADER;
	c.replica_id = 1;
	c.replica_name = (char *)(uintptr_t)"backup";
	sv_child_argv(&c, "w.yml", false, "/tmp/walship.x");
	static const char *const up[] = { "walship", "__role", "uploader",
		"-config", "w.yml", "-no-expand-env", "-run", "/tmp/walship.x",
		"-db-id", "2", "-db", "/data/app.db", "-replica-id", "1",
		"-replica", "backup" };
	ASSERT_INT_EQ(argv_len(c.argv), 16);
	for (int i = 0; i < 16; i++)
		ASSERT_STR_EQ(c.argv[i], up[i]);
	ASSERT(16 < SV_MAX_ARGV);

	/* A walreader learns its replicas' endpoint numbers, which a reload
	 * may have made differ from their config order. */
	c.role = SV_WALREADER;
	c.replica_ids = (char *)(uintptr_t)"0,2,1";
	sv_child_argv(&c, "w.yml", true, "/tmp/walship.x");
	static const char *const wr2[] = { "walship", "__role", "walreader",
		"-config", "w.yml", "-run", "/tmp/walship.x", "-db-id", "2",
		"-db", "/data/app.db", "-replica-ids", "0,2,1" };
	ASSERT_INT_EQ(argv_len(c.argv), 13);
	for (int i = 0; i < 13; i++)
		ASSERT_STR_EQ(c.argv[i], wr2[i]);
}

TEST(child_env)
{
	char *in[] = { (char *)(uintptr_t)"A=1",
		(char *)(uintptr_t)CHILD_ENV_PARENT "=999",
		(char *)(uintptr_t)"B=2", NULL };
	char **env = sv_env_build(in, 1234, true);

	ASSERT(env != NULL);
	ASSERT_INT_EQ(argv_len(env), 3);
	ASSERT_STR_EQ(env[0], "A=1");
	ASSERT_STR_EQ(env[1], "B=2");
	ASSERT_STR_EQ(env[2], CHILD_ENV_PARENT "=1234");
	sv_env_free(env);
	env = sv_env_build(NULL, 5, true);
	ASSERT(env != NULL);
	ASSERT_INT_EQ(argv_len(env), 1);
	ASSERT_STR_EQ(env[0], CHILD_ENV_PARENT "=5");
	sv_env_free(env);
}

TEST(rundir_template)
{
	char buf[108], longdir[120];

	ASSERT_INT_EQ(sv_rundir_template(buf, sizeof(buf), "/run/walship",
	    "/run/user/1000"), 0);
	ASSERT_STR_EQ(buf, "/run/walship/walship.XXXXXX");
	ASSERT_INT_EQ(sv_rundir_template(buf, sizeof(buf), "/run/a:/run/b",
	    NULL), 0);
	ASSERT_STR_EQ(buf, "/run/a/walship.XXXXXX");
	ASSERT_INT_EQ(sv_rundir_template(buf, sizeof(buf), "",
	    "/run/user/1000/"), 0);
	ASSERT_STR_EQ(buf, "/run/user/1000/walship.XXXXXX");
	ASSERT_INT_EQ(sv_rundir_template(buf, sizeof(buf), NULL, NULL), 0);
	ASSERT_STR_EQ(buf, "/tmp/walship.XXXXXX");
	ASSERT_INT_EQ(sv_rundir_template(buf, sizeof(buf), NULL, "/"), 0);
	ASSERT_STR_EQ(buf, "//walship.XXXXXX");
	/* Longer than a socket address can be. */
	memset(longdir, 'd', sizeof(longdir) - 1);
	longdir[0] = '/';
	longdir[sizeof(longdir) - 1] = '\0';
	ASSERT_INT_EQ(sv_rundir_template(buf, sizeof(buf), longdir, NULL), -1);
	ASSERT_INT_EQ(sv_rundir_template(buf, 10, NULL, NULL), -1);
}

TEST(rundir_create_remove)
{
	char base[] = "/tmp/walship-test.XXXXXX", path[512];
	struct stat st;
	char *dir;

	ASSERT(mkdtemp(base) != NULL);
	const char *old = getenv("RUNTIME_DIRECTORY");
	char *saved = old != NULL ? strdup(old) : NULL;
	setenv("RUNTIME_DIRECTORY", base, 1);
	dir = sv_rundir_create();
	if (saved != NULL)
		setenv("RUNTIME_DIRECTORY", saved, 1);
	else
		unsetenv("RUNTIME_DIRECTORY");
	free(saved);
	ASSERT(dir != NULL);
	ASSERT(strncmp(dir, base, strlen(base)) == 0);
	ASSERT(stat(dir, &st) == 0);
	ASSERT(S_ISDIR(st.st_mode));
	ASSERT_INT_EQ(st.st_mode & 07777, 0700);
	/* What the children leave: a socket file and a directory. */
	snprintf(path, sizeof(path), "%s/status", dir);
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ASSERT(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/sub", dir);
	ASSERT(mkdir(path, 0700) == 0);
	sv_rundir_remove(dir);
	ASSERT(stat(dir, &st) < 0 && errno == ENOENT);
	free(dir);
	ASSERT(rmdir(base) == 0);
}

TEST(status_values)
{
	static const char p[] = "role=uploader\npid=4242\nreplica-id=3\n"
	    "empty=\nlong=0123456789abcdef";
	const uint8_t *u = (const uint8_t *)p;
	char v[8];

	ASSERT_INT_EQ(sv_status_value(u, strlen(p), "pid", v, sizeof(v)), 0);
	ASSERT_STR_EQ(v, "4242");
	ASSERT_INT_EQ(sv_status_value(u, strlen(p), "role", v, sizeof(v)), -1);
	ASSERT_INT_EQ(sv_status_value(u, strlen(p), "replica-id", v,
	    sizeof(v)), 0);
	ASSERT_STR_EQ(v, "3");
	ASSERT_INT_EQ(sv_status_value(u, strlen(p), "empty", v, sizeof(v)), 0);
	ASSERT_STR_EQ(v, "");
	ASSERT_INT_EQ(sv_status_value(u, strlen(p), "replica", v, sizeof(v)),
	    -1);
	ASSERT_INT_EQ(sv_status_value(u, strlen(p), "long", v, sizeof(v)), -1);
	ASSERT_INT_EQ(sv_status_value(u, strlen(p), "missing", v, sizeof(v)),
	    -1);
	/* The last line needs no newline; the payload need not be a string. */
	ASSERT_INT_EQ(sv_status_value(u, 8, "role", v, sizeof(v)), 0);
	ASSERT_STR_EQ(v, "upl");
	ASSERT_INT_EQ(sv_status_value(u, 0, "role", v, sizeof(v)), -1);
}

/* A status message with payload P, from database DB. */
static struct msg
status_msg(uint32_t db, const char *p)
{
	struct msg m;

	memset(&m, 0, sizeof(m));
	m.type = MSG_STATUS;
	m.db_id = db;
	m.flags = MSG_F_READY;
	m.payload = (const uint8_t *)p;
	m.payload_len = (uint32_t)strlen(p);
	return m;
}

TEST(status_sender)
{
	struct child cs[4];
	struct child *tab[4] = { &cs[0], &cs[1], &cs[2], &cs[3] };
	struct msg m;

	memset(cs, 0, sizeof(cs));
	cs[0] = (struct child){ .role = SV_WALREADER, .db_id = 0, .pid = 100 };
	cs[1] = (struct child){ .role = SV_UPLOADER, .db_id = 0,
		.replica_id = 0, .pid = 101 };
	cs[2] = (struct child){ .role = SV_UPLOADER, .db_id = 0,
		.replica_id = 1, .pid = 0 /* down */ };
	cs[3] = (struct child){ .role = SV_WALREADER, .db_id = 1, .pid = 103 };

	m = status_msg(0, "pid=101\nrole=walreader\n");
	ASSERT(sv_status_sender(tab, 4, &m) == &cs[1]); /* pid wins */
	m = status_msg(0, "pid=999\nrole=walreader\n");
	ASSERT(sv_status_sender(tab, 4, &m) == NULL); /* an old instance */
	m = status_msg(0, "pid=0\n");
	ASSERT(sv_status_sender(tab, 4, &m) == NULL); /* never a down child */
	m = status_msg(0, "pid=-5\n");
	ASSERT(sv_status_sender(tab, 4, &m) == NULL);
	m = status_msg(0, "pid=101x\n");
	ASSERT(sv_status_sender(tab, 4, &m) == NULL);
	m = status_msg(1, "role=walreader\n");
	ASSERT(sv_status_sender(tab, 4, &m) == &cs[3]);
	m = status_msg(0, "role=uploader\nreplica-id=1\n");
	ASSERT(sv_status_sender(tab, 4, &m) == &cs[2]);
	m = status_msg(0, "role=uploader\n"); /* which replica? */
	ASSERT(sv_status_sender(tab, 4, &m) == NULL);
	m = status_msg(2, "role=walreader\n");
	ASSERT(sv_status_sender(tab, 4, &m) == NULL);
	m = status_msg(0, "role=compactor\n");
	ASSERT(sv_status_sender(tab, 4, &m) == NULL);
	m = status_msg(0, "");
	ASSERT(sv_status_sender(tab, 4, &m) == NULL);
}

TEST(proctitle)
{
	/* An argv area laid out as the kernel does: contiguous strings. */
	static char area[] = "walship\0__role\0uploader\0-db\0/data/app.db\0"
	    "-replica\0backup-with-a-long-name";
	static char *argv[8]; /* static: the copies stay reachable */
	char comm[32] = "";
	int argc = 0;

	for (char *p = area; p < area + sizeof(area); p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	proctitle_init(argc, argv);
	ASSERT_INT_EQ(proctitle_space(), sizeof(area));
	/* argv keeps its values, now in copies. */
	ASSERT(argv[4] != area + 28);
	ASSERT_STR_EQ(argv[4], "/data/app.db");
	ASSERT_STR_EQ(argv[6], "backup-with-a-long-name");
	proctitle_set("uploader", "walship: uploader %s -> %s", argv[4],
	    "backup");
	ASSERT_STR_EQ(area, "walship: uploader /data/app.db -> backup");
	for (size_t i = strlen(area); i < sizeof(area); i++)
		ASSERT_INT_EQ(area[i], 0);
	ASSERT_STR_EQ(argv[4], "/data/app.db");
	/* Too long: cut, and the area's last byte stays NUL. */
	proctitle_set(NULL, "%0100d", 7);
	ASSERT_INT_EQ(strlen(area), sizeof(area) - 1);
	ASSERT_INT_EQ(area[sizeof(area) - 1], 0);
	/* comm, as top and the journal show it. */
	FILE *f = fopen("/proc/self/comm", "r");
	ASSERT(f != NULL);
	ASSERT(fgets(comm, sizeof(comm), f) != NULL);
	fclose(f);
	ASSERT_STR_EQ(comm, "uploader\n");
	/* A second init changes nothing. */
	proctitle_init(argc, argv);
	ASSERT_INT_EQ(proctitle_space(), sizeof(area));
	prctl(PR_SET_NAME, "supervisor_test", 0, 0, 0);
}

/*
 * The spawned side: this binary, re-executed by sv_spawn() as
 * "walship __role check ...". Returns 0 when everything it inherited is as
 * promised, else the number of the first broken promise.
 */
static int
spawned_main(void)
{
	struct stat st0, stnull;
	sigset_t mask;
	struct sigaction sa;
	int sig = 0, n = 0;
	const char *env = getenv(CHILD_ENV_PARENT);
	DIR *d;
	struct dirent *de;

	/* 1: stdin is /dev/null. */
	if (fstat(0, &st0) < 0 || stat("/dev/null", &stnull) < 0 ||
	    st0.st_rdev != stnull.st_rdev || !S_ISCHR(st0.st_mode))
		return 1;
	/* 2: only 0-2 are open (the directory stream's own fd aside). */
	if ((d = opendir("/proc/self/fd")) == NULL)
		return 2;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		int fd = atoi(de->d_name);
		if (fd > 2 && fd != dirfd(d))
			n++;
	}
	closedir(d);
	if (n != 0)
		return 2;
	/* 3: nothing blocked, SIGPIPE (ignored in the parent) is default. */
	if (sigprocmask(SIG_SETMASK, NULL, &mask) < 0 ||
	    sigismember(&mask, SIGTERM) || sigismember(&mask, SIGCHLD))
		return 3;
	if (sigaction(SIGPIPE, NULL, &sa) < 0 || sa.sa_handler != SIG_DFL)
		return 3;
	/* 4: dies with its parent. */
	if (prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0) < 0 || sig != SIGTERM)
		return 4;
	/* 5: the supervisor's pid is in the environment, and is the parent. */
	if (env == NULL || atol(env) != (long)getppid())
		return 5;
	/* 6: child_setup() takes it from there. */
	child_setup();
	if (child_parent() != getppid() || getenv(CHILD_ENV_PARENT) != NULL)
		return 6;
	child_setup(); /* idempotent */
	child_check_parent();
	return 0;
}

TEST(spawn_hygiene)
{
	struct child c;
	int devnull, leak, st = -1;
	char **env, exe[4096];
	pid_t pid;

	memset(&c, 0, sizeof(c));
	c.role = SV_WALREADER;
	c.db_path = "/nonexistent.db";
	sv_child_argv(&c, "/nonexistent.yml", true, "/nonexistent");
	c.argv[2] = (char *)(uintptr_t)"check";
	/* What a careless parent might leave for the child. */
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	leak = open("/dev/null", O_RDONLY); /* not close-on-exec */
	ASSERT(devnull > 2 && leak > 2);
	signal(SIGPIPE, SIG_IGN);
	/* The path, not SV_SELF_EXE: under valgrind /proc/self/exe is
	 * valgrind itself, while readlink() reports the program. */
	ssize_t n = readlink(SV_SELF_EXE, exe, sizeof(exe) - 1);
	ASSERT(n > 0);
	exe[n] = '\0';
	env = sv_env_build(environ, getpid(), true);
	pid = sv_spawn(exe, c.argv, env, devnull);
	ASSERT(pid > 0);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	signal(SIGPIPE, SIG_DFL);
	sv_env_free(env);
	close(devnull);
	close(leak);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		TEST_FAIL_("spawned child: %s %d", WIFEXITED(st) ?
		    "failed check" : "signal", WIFEXITED(st) ?
		    WEXITSTATUS(st) : WTERMSIG(st));
}

TEST(notify_addr)
{
	struct sockaddr_un sa;
	socklen_t len;
	char longname[200];

	ASSERT_INT_EQ(sv_notify_addr("/run/systemd/notify", &sa, &len), 0);
	ASSERT_STR_EQ(sa.sun_path, "/run/systemd/notify");
	ASSERT_INT_EQ(len, offsetof(struct sockaddr_un, sun_path) + 20);
	/* Abstract: a leading NUL instead of '@', no NUL at the end. */
	ASSERT_INT_EQ(sv_notify_addr("@walship/n", &sa, &len), 0);
	ASSERT_INT_EQ(sa.sun_path[0], 0);
	ASSERT_MEM_EQ(sa.sun_path + 1, "walship/n", 9);
	ASSERT_INT_EQ(len, offsetof(struct sockaddr_un, sun_path) + 10);
	ASSERT_INT_EQ(sv_notify_addr("relative", &sa, &len), -1);
	ASSERT_INT_EQ(sv_notify_addr("@", &sa, &len), -1);
	ASSERT_INT_EQ(sv_notify_addr(NULL, &sa, &len), -1);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	ASSERT_INT_EQ(sv_notify_addr(longname, &sa, &len), -1);
}

TEST(notify_watchdog_usec)
{
	ASSERT_INT_EQ(sv_notify_watchdog_usec("30000000", NULL, 42), 30000000);
	ASSERT_INT_EQ(sv_notify_watchdog_usec("30000000", "42", 42), 30000000);
	ASSERT_INT_EQ(sv_notify_watchdog_usec("30000000", "43", 42), 0);
	ASSERT_INT_EQ(sv_notify_watchdog_usec("30000000", "", 42), 30000000);
	ASSERT_INT_EQ(sv_notify_watchdog_usec(NULL, NULL, 42), 0);
	ASSERT_INT_EQ(sv_notify_watchdog_usec("0", NULL, 42), 0);
	ASSERT_INT_EQ(sv_notify_watchdog_usec("-5", NULL, 42), 0);
	ASSERT_INT_EQ(sv_notify_watchdog_usec("30s", NULL, 42), 0);
}

/* Receives one datagram from FD within a second into BUF. */
static ssize_t
recv_one(int fd, char *buf, size_t len)
{
	struct timeval tv = { .tv_sec = 1 };
	ssize_t n;

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recv(fd, buf, len - 1, 0);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* A listener on an abstract socket stands in for systemd: READY=1 and the
 * watchdog pings (WATCHDOG_USEC=200ms: every 100 ms) reach it. */
TEST(notify_datagrams)
{
	char name[64], buf[256];
	struct sockaddr_un sa;
	socklen_t len;
	struct event_base *base;
	struct sv_notify *n;
	int fd, pings = 0;

	snprintf(name, sizeof(name), "@walship-test-notify-%ld",
	    (long)getpid());
	ASSERT_INT_EQ(sv_notify_addr(name, &sa, &len), 0);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT(fd >= 0);
	ASSERT_INT_EQ(bind(fd, (struct sockaddr *)&sa, len), 0);

	/* Unset: inert, sends nothing. */
	unsetenv("NOTIFY_SOCKET");
	base = event_base_new();
	ASSERT(base != NULL);
	n = sv_notify_open(base);
	ASSERT(n != NULL);
	sv_notify_send(n, "READY=1");
	sv_notify_close(n);

	setenv("NOTIFY_SOCKET", name, 1);
	setenv("WATCHDOG_USEC", "200000", 1);
	unsetenv("WATCHDOG_PID");
	n = sv_notify_open(base);
	ASSERT(n != NULL);
	ASSERT(recv_one(fd, buf, sizeof(buf)) > 0); /* the first ping */
	ASSERT_STR_EQ(buf, "WATCHDOG=1");
	sv_notify_send(n, "READY=1\nSTATUS=replicating");
	ASSERT(recv_one(fd, buf, sizeof(buf)) > 0);
	ASSERT_STR_EQ(buf, "READY=1\nSTATUS=replicating");
	struct timeval stop = { .tv_usec = 350000 };
	event_base_loopexit(base, &stop);
	event_base_dispatch(base);
	while (recv_one(fd, buf, sizeof(buf)) > 0) {
		ASSERT_STR_EQ(buf, "WATCHDOG=1");
		pings++;
		if (pings == 3)
			break;
	}
	ASSERT_INT_EQ(pings, 3); /* at 100, 200, 300 ms */
	sv_notify_close(n);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	event_base_free(base);
	close(fd);
}

int
main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "__role") == 0 &&
	    strcmp(argv[2], "check") == 0)
		return spawned_main();

	RUN(table_complete);
	RUN(table_actions);
	RUN(backoff_doubles_to_cap);
	RUN(backoff_resets_after_stable_run);
	RUN(five_deaths_in_ten_minutes_fail);
	RUN(deaths_spread_over_more_than_window_do_not_fail);
	RUN(config_error_fails_at_once);
	RUN(stop_cancels_pending_restart);
	RUN(jitter_is_bounded_and_seeded);
	RUN(describe_status);
	RUN(child_argv);
	RUN(child_env);
	RUN(rundir_template);
	RUN(rundir_create_remove);
	RUN(status_values);
	RUN(status_sender);
	RUN(proctitle);
	RUN(spawn_hygiene);
	RUN(notify_addr);
	RUN(notify_watchdog_usec);
	RUN(notify_datagrams);
	return TEST_DONE();
}
