/*
 * roles: the internal process roles the supervisor re-executes the binary
 * as: `walship __role NAME ARGS...` (see supervisor/spawn.c for ARGS).
 *
 * Each entry point gets argv[0] = the role name and the role's arguments
 * after it, and returns the process exit status (child.h lists what the
 * supervisor makes of it). Before it runs, the dispatch in main.c has already
 * called child_setup() and set the process title from -db and -replica.
 */
#ifndef WALSHIP_ROLES_H
#define WALSHIP_ROLES_H

int walreader_main(int argc, char **argv);
int uploader_main(int argc, char **argv);
int compactor_main(int argc, char **argv);

#endif
