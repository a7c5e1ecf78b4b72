/*
 * cmp: what the compactor's files share. Not for other modules.
 *
 *   compactor.c   compactor_main: arguments, config, replicas, the loop,
 *                 status to the supervisor
 *   retain_plan.c the retention rule (pure)
 *   retain.c      one retention pass over one replica
 *   validate.c    one validation of one replica
 *
 * The compactor serves every file and s3 replica of every database. It
 * works through the synchronous replica clients (replica/client.h): a pass
 * blocks the loop for as long as its requests take, bounded by the S3
 * client's timeouts and retry budget; the heartbeat resumes after it, and
 * a SIGTERM is answered between passes. Being killed at any point is safe:
 * deletions go in an order that leaves every restore working, and the next
 * pass finishes the job.
 */
#ifndef WALSHIP_CMP_H
#define WALSHIP_CMP_H

#include <stdbool.h>
#include <stdint.h>

#include "position.h"

struct cfg_db;
struct cfg_replica;
struct replica_client;

struct cmp_replica {
	const struct cfg_db *db;
	const struct cfg_replica *rep;
	struct replica_client *client;
	char pos_path[4200];		/* the uploader's position file */
	int64_t next_retain_ns;		/* monotonic; 0 = never */
	int64_t next_validate_ns;
};

/* Totals since start, for the status message. */
struct cmp_stats {
	uint64_t passes;
	uint64_t pass_errors;
	uint64_t objects_deleted;
	uint64_t generations_deleted;
	uint64_t validations;
	uint64_t validation_errors;
};

/*
 * retain.c: one retention pass over R at wall-clock time NOW (ns since the
 * epoch). Returns 0, or -1 (logged, counted in ST).
 */
int cmp_retain(struct cmp_replica *r, int64_t now, struct cmp_stats *st);

/*
 * validate.c: restores R at the position of the walreader's newest
 * snapshot and compares the two. 0 (validated, or not possible yet:
 * *RETRY set), -1 for a failure or a mismatch (logged, counted in ST).
 */
int cmp_validate(struct cmp_replica *r, struct cmp_stats *st, bool *retry);

#endif
