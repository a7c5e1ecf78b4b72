/*
 * walreader: the per-database process. The only one that opens the
 * database; copies committed WAL frames into the shadow log, owns
 * checkpointing, cuts snapshots, and hands frame batches to the uploaders
 * without ever waiting on them.
 */
#ifndef WALSHIP_WALREADER_H
#define WALSHIP_WALREADER_H

/* Entry point of `walship __role walreader ...` (argv[0] is the role). */
int walreader_main(int argc, char **argv);

#endif
