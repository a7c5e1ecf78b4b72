/*
 * child_fsm: the supervisor's per-child state machine (see child_fsm.h).
 *
 * The table below is the whole policy: one action per (state, event). An
 * action sets the next state itself (a death leads to DOWN or FAILED
 * depending on the history) and returns the CHILD_DO_* work for the caller.
 * Nothing here forks, signals, sleeps or reads a clock.
 */
#define _GNU_SOURCE /* sigabbrev_np */
#include "child_fsm.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "child.h"

typedef unsigned (*child_action)(struct child_fsm *f, int64_t now,
    int wstatus);

static uint32_t
next_rand(struct child_fsm *f)
{
	uint32_t x = f->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	f->rng = x;
	return x;
}

int64_t
child_fsm_jitter(int64_t base_ms, uint32_t rnd)
{
	int64_t span = base_ms * CHILD_JITTER_PCT / 100;

	return base_ms + (int64_t)(rnd % (uint64_t)(span + 1));
}

void
child_fsm_init(struct child_fsm *f, uint32_t seed)
{
	memset(f, 0, sizeof(*f));
	f->state = CHILD_DOWN;
	f->ready_at = -1;
	f->backoff_ms = CHILD_BACKOFF_MIN_MS;
	f->rng = seed != 0 ? seed : 0x9e3779b9u;
}

/* ---- actions ----------------------------------------------------------- */

/* Nothing to do: the event does not apply in this state. */
static unsigned
act_none(struct child_fsm *f, int64_t now, int wstatus)
{
	(void)f;
	(void)now;
	(void)wstatus;
	return 0;
}

static unsigned
act_spawn(struct child_fsm *f, int64_t now, int wstatus)
{
	(void)wstatus;
	f->wanted = true;
	f->state = CHILD_STARTING;
	f->started_at = now;
	f->ready_at = -1;
	if (f->spawns++ > 0)
		f->restarts++;
	return CHILD_DO_SPAWN;
}

/* DOWN + TIMER: the backoff is over; start again unless stopped since. */
static unsigned
act_restart(struct child_fsm *f, int64_t now, int wstatus)
{
	if (!f->wanted)
		return 0;
	return act_spawn(f, now, wstatus);
}

/* FAILED + START: an explicit start (a reload) forgets the history. */
static unsigned
act_retry_failed(struct child_fsm *f, int64_t now, int wstatus)
{
	f->fail = CHILD_FAIL_NONE;
	f->backoff_ms = CHILD_BACKOFF_MIN_MS;
	f->ndeaths = 0;
	f->death_next = 0;
	return act_spawn(f, now, wstatus);
}

/* FAILED + TIMER: a child failing in bursts is still retried, slowly. */
static unsigned
act_retry_burst(struct child_fsm *f, int64_t now, int wstatus)
{
	if (!f->wanted || f->fail != CHILD_FAIL_DEATHS_BURST)
		return 0;
	return act_spawn(f, now, wstatus);
}

static unsigned
act_ready(struct child_fsm *f, int64_t now, int wstatus)
{
	(void)wstatus;
	f->fail = CHILD_FAIL_NONE; /* recovered from a burst, if it was one */
	f->state = CHILD_UP;
	f->ready_at = now;
	return 0;
}

/* Records a death; true when it completes a burst that means FAILED. */
static bool
tally_death(struct child_fsm *f, int64_t now)
{
	f->deaths[f->death_next] = now;
	f->death_next = (f->death_next + 1) % CHILD_FAIL_DEATHS;
	if (f->ndeaths < CHILD_FAIL_DEATHS)
		f->ndeaths++;
	if (f->ndeaths < CHILD_FAIL_DEATHS)
		return false;
	/* Full ring: the slot to be overwritten next holds the oldest. */
	return now - f->deaths[f->death_next] <= CHILD_FAIL_WINDOW_NS;
}

/* STARTING/UP + EXIT: an exit the supervisor did not ask for. */
static unsigned
act_died(struct child_fsm *f, int64_t now, int wstatus)
{
	f->last_status = wstatus;
	if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == CHILD_EXIT_CONFIG) {
		f->state = CHILD_FAILED;
		f->fail = CHILD_FAIL_CONFIG;
		return 0;
	}
	if (f->ready_at >= 0 && now - f->ready_at >= CHILD_STABLE_NS)
		f->backoff_ms = CHILD_BACKOFF_MIN_MS;
	if (tally_death(f, now)) {
		/* Reported as failed, but a database must not stay
		 * unreplicated for good because of a bad stretch: keep
		 * trying at the longest backoff, never in a hot loop. */
		f->state = CHILD_FAILED;
		f->fail = CHILD_FAIL_DEATHS_BURST;
		f->backoff_ms = CHILD_BACKOFF_MAX_MS;
		f->delay_ms = child_fsm_jitter(CHILD_BACKOFF_MAX_MS,
		    next_rand(f));
		return CHILD_DO_ARM;
	}
	f->state = CHILD_DOWN;
	f->delay_ms = child_fsm_jitter(f->backoff_ms, next_rand(f));
	f->backoff_ms *= 2;
	if (f->backoff_ms > CHILD_BACKOFF_MAX_MS)
		f->backoff_ms = CHILD_BACKOFF_MAX_MS;
	return CHILD_DO_ARM;
}

/* STOPPING + EXIT: the stop we asked for. */
static unsigned
act_stopped(struct child_fsm *f, int64_t now, int wstatus)
{
	(void)now;
	f->last_status = wstatus;
	f->state = CHILD_DOWN;
	return 0;
}

/* DOWN + STOP/KILL: no process; make sure no restart is pending. */
static unsigned
act_cancel(struct child_fsm *f, int64_t now, int wstatus)
{
	(void)now;
	(void)wstatus;
	f->wanted = false;
	return CHILD_DO_DISARM;
}

/* FAILED + STOP/KILL: stays FAILED, no longer wanted, no retry pending. */
static unsigned
act_unwant(struct child_fsm *f, int64_t now, int wstatus)
{
	(void)now;
	(void)wstatus;
	f->wanted = false;
	return CHILD_DO_DISARM;
}

static unsigned
act_term(struct child_fsm *f, int64_t now, int wstatus)
{
	(void)now;
	(void)wstatus;
	f->wanted = false;
	f->state = CHILD_STOPPING;
	return CHILD_DO_TERM;
}

static unsigned
act_kill(struct child_fsm *f, int64_t now, int wstatus)
{
	(void)now;
	(void)wstatus;
	f->wanted = false;
	f->state = CHILD_STOPPING;
	return CHILD_DO_KILL;
}

/* ---- the table --------------------------------------------------------- */

static const child_action actions[CHILD_NSTATES][CHILD_NEVENTS] = {
	/*               START             TIMER        READY      EXIT
	 *               STOP              KILL */
	[CHILD_DOWN] = { act_spawn, act_restart, act_none, act_none,
	    act_cancel, act_cancel },
	[CHILD_STARTING] = { act_none, act_none, act_ready, act_died,
	    act_term, act_kill },
	[CHILD_UP] = { act_none, act_none, act_none, act_died,
	    act_term, act_kill },
	/* A stop in progress completes; a START waits for the next one. */
	[CHILD_STOPPING] = { act_none, act_none, act_none, act_stopped,
	    act_none, act_kill },
	[CHILD_FAILED] = { act_retry_failed, act_retry_burst, act_none,
	    act_none, act_unwant, act_unwant },
};

bool
child_fsm_defined(enum child_state state, enum child_event ev)
{
	if ((unsigned)state >= CHILD_NSTATES || (unsigned)ev >= CHILD_NEVENTS)
		return false;
	return actions[state][ev] != NULL;
}

unsigned
child_fsm_event(struct child_fsm *f, enum child_event ev, int64_t now,
    int wstatus)
{
	if (!child_fsm_defined(f->state, ev))
		return 0;
	return actions[f->state][ev](f, now, wstatus);
}

/* ---- names ------------------------------------------------------------- */

const char *
child_fsm_state_name(enum child_state state)
{
	static const char *const names[CHILD_NSTATES] = {
		"down", "starting", "up", "stopping", "failed",
	};
	return (unsigned)state < CHILD_NSTATES ? names[state] : "?";
}

const char *
child_fsm_event_name(enum child_event ev)
{
	static const char *const names[CHILD_NEVENTS] = {
		"start", "timer", "ready", "exit", "stop", "kill",
	};
	return (unsigned)ev < CHILD_NEVENTS ? names[ev] : "?";
}

const char *
child_fsm_fail_name(enum child_fail fail)
{
	switch (fail) {
	case CHILD_FAIL_NONE:
		return "none";
	case CHILD_FAIL_CONFIG:
		return "config error";
	case CHILD_FAIL_DEATHS_BURST:
		return "too many restarts";
	}
	return "?";
}

void
child_fsm_describe_status(int wstatus, char *buf, size_t len)
{
	if (WIFEXITED(wstatus)) {
		snprintf(buf, len, "exit status %d", WEXITSTATUS(wstatus));
	} else if (WIFSIGNALED(wstatus)) {
		int sig = WTERMSIG(wstatus);
		const char *abbrev = sigabbrev_np(sig);

		if (abbrev != NULL)
			snprintf(buf, len, "killed by signal SIG%s%s", abbrev,
			    WCOREDUMP(wstatus) ? " (core dumped)" : "");
		else
			snprintf(buf, len, "killed by signal %d%s", sig,
			    WCOREDUMP(wstatus) ? " (core dumped)" : "");
	} else {
		snprintf(buf, len, "wait status 0x%x", (unsigned)wstatus);
	}
}
