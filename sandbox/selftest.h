/*
 * selftest: `walship __sandbox-selftest ROLE -config F -db PATH
 * [-replica NAME] [-run DIR] [-no-expand-env]`, an internal command that
 * proves a role's confinement: a child process confines itself exactly as
 * role ROLE does (sandbox_enter), then tries what that role must not do,
 * and prints one line per attempt:
 *
 *   walreader: read /var/tmp/walship-probe.X/probe: denied (Permission denied)
 *
 * The attempts: read and create a file outside the role's areas (in a probe
 * directory made for it, owned by the service user, so that only the
 * sandbox can refuse), read the config file (it may hold keys) and, for
 * an uploader, the database, when they lie outside the role's areas; for
 * roles without network, create AF_INET and AF_INET6 sockets; exec
 * /bin/true; take uid 0 and gid 0 back. Exit status 0 only if every attempt
 * was denied, 1 if any was allowed, 2 on a usage or config error.
 */
#ifndef WALSHIP_SELFTEST_H
#define WALSHIP_SELFTEST_H

/* ARGV[0] is "__sandbox-selftest", ARGV[1] the role. */
int sandbox_selftest_main(int argc, char **argv);

#endif
