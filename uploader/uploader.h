/*
 * uploader: the per-replica process. Turns the walreader's shadow log into
 * Litestream v0.3 WAL segment and snapshot objects on one replica, persists
 * the position it has made durable there and acknowledges it to the
 * walreader. A slow or broken replica stalls this process only.
 */
#ifndef WALSHIP_UPLOADER_H
#define WALSHIP_UPLOADER_H

/*
 * Entry point of `walship __role uploader ...` (argv[0] is the role):
 *   uploader -config PATH [-no-expand-env] -run RUNDIR -db-id D -db DBPATH
 *            -replica-id R -replica NAME
 * Returns 0 after SIGTERM/SIGINT, CHILD_EXIT_CONFIG (78) when the config
 * does not describe a replica this process can serve.
 */
int uploader_main(int argc, char **argv);

#endif
