/*
 * endpoints: the names of walship's nanomsg endpoints, all ipc:// sockets in
 * the supervisor's private runtime directory RUNDIR (mode 0700):
 *
 *   status   ipc://RUNDIR/status            children PUSH -> supervisor PULL
 *                                           (the supervisor binds)
 *   acks     ipc://RUNDIR/db<d>-acks        uploaders PUSH -> walreader PULL
 *                                           (the walreader of database d binds)
 *   frames   ipc://RUNDIR/db<d>-r<r>-frames walreader PUSH (binds) ->
 *                                           uploader PULL (connects)
 *
 * d is the database's index in the config, r the replica's index within its
 * database. RUNDIR must be absolute (children may change directory), and
 * the socket path must fit in sockaddr_un's sun_path (107 bytes and a NUL):
 * a longer one fails with ENAMETOOLONG and a message that says so, rather
 * than nanomsg's bare error at bind time.
 */
#ifndef WALSHIP_ENDPOINTS_H
#define WALSHIP_ENDPOINTS_H

#include <stddef.h>
#include <stdint.h>

#define ENDPOINTS_SCHEME "ipc://"
/* sizeof(((struct sockaddr_un *)0)->sun_path) on Linux. */
#define ENDPOINTS_SUN_PATH 108
/* Room for any address these functions produce, NUL included. */
#define ENDPOINTS_ADDR_MAX (sizeof(ENDPOINTS_SCHEME) - 1 + ENDPOINTS_SUN_PATH)

/*
 * Each writes the address into ADDR (ENDPOINTS_ADDR_MAX bytes) and returns
 * 0, or -1 with errno EINVAL (RUNDIR not absolute) or ENAMETOOLONG, and ERR
 * (may be NULL) saying which and why.
 */
int endpoints_status(const char *rundir, char *addr, char *err, size_t errlen);
int endpoints_acks(const char *rundir, uint32_t db, char *addr, char *err,
    size_t errlen);
int endpoints_frames(const char *rundir, uint32_t db, uint32_t replica,
    char *addr, char *err, size_t errlen);

/*
 * Checks up front that every endpoint of NDBS databases with at most
 * MAX_REPLICAS replicas each fits under RUNDIR, so the supervisor can refuse
 * a too-long runtime directory before it starts a child. 0 or -1 as above.
 */
int endpoints_check(const char *rundir, uint32_t ndbs, uint32_t max_replicas,
    char *err, size_t errlen);

/* The file-system path of an ipc:// address (for unlink, Landlock rules),
 * or NULL if ADDR is not ipc://. Points into ADDR. */
const char *endpoints_path(const char *addr);

#endif
