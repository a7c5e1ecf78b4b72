/*
 * child_fsm: the restart policy of one supervised process, as a pure state
 * machine (no fork, no signals, no clock of its own), after s6-supervise.
 *
 * Every (state, event) pair has a written action in one table; an action
 * updates the machine and returns what the caller must do (CHILD_DO_*).
 * Time comes in as an argument (monotonic nanoseconds) and jitter from a
 * seeded generator, so a test can drive any history.
 *
 * States:
 *   DOWN      not running; a restart may be pending on the timer
 *   STARTING  spawned, has not reported READY yet
 *   UP        reported READY
 *   STOPPING  sent SIGTERM (or SIGKILL) by the supervisor, waiting for exit
 *   FAILED    exited with CHILD_EXIT_CONFIG (given up until a reload), or
 *             died CHILD_FAIL_DEATHS times in CHILD_FAIL_WINDOW_NS (reported
 *             as failed, still retried at the longest backoff; READY
 *             clears it)
 *
 * Policy: an unexpected exit restarts the child after a backoff of 1 s,
 * doubling up to 60 s, plus up to 10% jitter; a child that has been UP for
 * CHILD_STABLE_NS when it dies starts again from 1 s.
 */
#ifndef WALSHIP_CHILD_FSM_H
#define WALSHIP_CHILD_FSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHILD_NS_PER_MS 1000000LL
#define CHILD_BACKOFF_MIN_MS 1000
#define CHILD_BACKOFF_MAX_MS 60000
#define CHILD_JITTER_PCT 10
#define CHILD_STABLE_NS (300 * 1000 * CHILD_NS_PER_MS)	   /* 5 min */
#define CHILD_FAIL_DEATHS 5
#define CHILD_FAIL_WINDOW_NS (600 * 1000 * CHILD_NS_PER_MS) /* 10 min */

enum child_state {
	CHILD_DOWN = 0,
	CHILD_STARTING,
	CHILD_UP,
	CHILD_STOPPING,
	CHILD_FAILED,
	CHILD_NSTATES
};

enum child_event {
	CHILD_EV_START = 0,	/* the supervisor wants it running */
	CHILD_EV_TIMER,		/* the restart timer fired */
	CHILD_EV_READY,		/* MSG_STATUS with MSG_F_READY */
	CHILD_EV_EXIT,		/* reaped (or could not be spawned) */
	CHILD_EV_STOP,		/* the supervisor is stopping: SIGTERM */
	CHILD_EV_KILL,		/* deadline or second signal: SIGKILL */
	CHILD_NEVENTS
};

/* Why a child is FAILED. */
enum child_fail {
	CHILD_FAIL_NONE = 0,
	CHILD_FAIL_CONFIG,	/* exited with CHILD_EXIT_CONFIG */
	CHILD_FAIL_DEATHS_BURST, /* CHILD_FAIL_DEATHS in CHILD_FAIL_WINDOW_NS */
};

/* What the caller does after child_fsm_event(), in this order. */
#define CHILD_DO_DISARM 0x01u /* cancel the restart timer */
#define CHILD_DO_TERM 0x02u   /* kill(pid, SIGTERM) */
#define CHILD_DO_KILL 0x04u   /* kill(pid, SIGKILL) */
#define CHILD_DO_ARM 0x08u    /* restart timer in fsm->delay_ms */
#define CHILD_DO_SPAWN 0x10u  /* fork + exec; on failure feed CHILD_EV_EXIT */

struct child_fsm {
	enum child_state state;
	enum child_fail fail;
	bool wanted;		/* the supervisor wants it running */
	int64_t started_at;	/* ns, spawn of the current instance */
	int64_t ready_at;	/* ns, when it became UP; -1 if not (yet) */
	int64_t backoff_ms;	/* base delay of the next restart */
	int64_t delay_ms;	/* the armed delay, jitter included */
	int last_status;	/* wait status of the last exit */
	uint64_t restarts;	/* spawns after the first */
	uint64_t spawns;
	/* The last CHILD_FAIL_DEATHS unexpected deaths, a ring. */
	int64_t deaths[CHILD_FAIL_DEATHS];
	unsigned ndeaths;
	unsigned death_next;
	uint32_t rng;		/* xorshift32 state, never 0 */
};

/* DOWN, not wanted, backoff at its minimum; SEED drives the jitter. */
void child_fsm_init(struct child_fsm *f, uint32_t seed);

/*
 * Feeds EV at time NOW (monotonic ns); WSTATUS is the wait status for
 * CHILD_EV_EXIT (ignored otherwise). Returns the CHILD_DO_* bits to carry
 * out.
 */
unsigned child_fsm_event(struct child_fsm *f, enum child_event ev,
    int64_t now, int wstatus);

/* Whether the table has an action for (STATE, EV): true for every pair. */
bool child_fsm_defined(enum child_state state, enum child_event ev);

/* The delay for a base backoff BASE_MS and a random value RND: BASE_MS plus
 * up to CHILD_JITTER_PCT percent. */
int64_t child_fsm_jitter(int64_t base_ms, uint32_t rnd);

const char *child_fsm_state_name(enum child_state state);
const char *child_fsm_event_name(enum child_event ev);
const char *child_fsm_fail_name(enum child_fail fail);

/*
 * A wait status in words: "exit status 3", "killed by signal SIGSEGV",
 * "killed by signal SIGABRT (core dumped)".
 */
void child_fsm_describe_status(int wstatus, char *buf, size_t len);

#endif
